/** The model of each built-in architecture. */
import type { ArchName } from '../../core/architectures.ts';
import { CnnModel } from './cnn.ts';
import { FfnnModel } from './ffnn.ts';
import type { Model } from './model.ts';

export function createModel(arch: ArchName): Model {
  return arch === 'ffnn' ? new FfnnModel() : new CnnModel();
}
