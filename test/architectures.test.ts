import { describe, expect, it } from 'vitest';
import { CNN, FFNN, architecture } from '../src/core/architectures.ts';
import { kaimingNormal } from '../src/train/init.ts';

describe('architectures (paper Table 1)', () => {
  it('FFNN has exactly 2,160 weights: 196x10 + 10x10 + 10x10', () => {
    expect(FFNN.size).toBe(2160);
    expect(FFNN.params.map((p) => [p.name, p.shape, p.offset])).toEqual([
      ['fc1.weight', [10, 196], 0],
      ['fc2.weight', [10, 10], 1960],
      ['fc3.weight', [10, 10], 2060],
    ]);
  });

  it('CNN has exactly 1,376 weights: 144 + 1,152 + 80', () => {
    expect(CNN.size).toBe(1376);
    expect(CNN.params.map((p) => [p.name, p.shape, p.size])).toEqual([
      ['conv1.weight', [16, 1, 3, 3], 144],
      ['conv2.weight', [8, 16, 3, 3], 1152],
      ['fc.weight', [10, 8], 80],
    ]);
  });

  it('rejects an unknown architecture by name', () => {
    expect(() => architecture('resnet')).toThrow(/unknown architecture 'resnet'.*ffnn, cnn/);
  });

  it('Kaiming normal init has std sqrt(2 / fan_in) per tensor', () => {
    const w = new Float64Array(CNN.size * 200);
    for (let s = 0; s < 200; s++) kaimingNormal(CNN, s, w, s * CNN.size);
    for (const p of CNN.params) {
      let sum = 0;
      let sq = 0;
      let count = 0;
      for (let s = 0; s < 200; s++) {
        for (let i = 0; i < p.size; i++) {
          const v = w[s * CNN.size + p.offset + i];
          sum += v;
          sq += v * v;
          count++;
        }
      }
      const std = Math.sqrt(sq / count - (sum / count) ** 2);
      expect(std / Math.sqrt(2 / p.fanIn)).toBeCloseTo(1, 1);
      expect(Math.abs(sum / count)).toBeLessThan(0.05 * std);
    }
  });
});
