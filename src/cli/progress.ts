/**
 * A one-line progress bar on a terminal; plain log lines (at most one every few seconds)
 * when stderr is not a TTY, so CI logs stay readable.
 */
export interface ProgressUpdate {
  done: number;
  total: number;
  /** Text after the bar, e.g. "epoch 3/20". */
  detail: string;
  /** Items per second, shown with `rateUnit`. */
  rate?: number;
}

export class ProgressBar {
  private lastLog = 0;
  private readonly tty: boolean;
  private readonly start = performance.now();

  constructor(
    private readonly label: string,
    private readonly rateUnit = 'items/s',
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly logEverySeconds = 5,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  update({ done, total, detail, rate }: ProgressUpdate): void {
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const elapsed = (performance.now() - this.start) / 1000;
    const eta = fraction > 0 ? (elapsed * (1 - fraction)) / fraction : NaN;
    const parts = [`${(100 * fraction).toFixed(0).padStart(3)}%`, detail];
    if (rate !== undefined && rate > 0) parts.push(`${formatCount(rate)} ${this.rateUnit}`);
    parts.push(`ETA ${formatDuration(eta)}`);
    if (this.tty) {
      const width = 24;
      const filled = Math.round(width * fraction);
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      this.stream.write(`\r${this.label} ${bar} ${parts.join(' · ')}\x1b[K`);
    } else if (elapsed - this.lastLog >= this.logEverySeconds || fraction === 1) {
      this.lastLog = elapsed;
      this.stream.write(`${this.label}: ${parts.join(', ')}\n`);
    }
  }

  /** Ends the bar's line with a final message. */
  finish(message: string): void {
    this.stream.write(this.tty ? `\r${this.label} ${message}\x1b[K\n` : `${this.label}: ${message}\n`);
  }
}

export function formatCount(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A progress bar per named step, for work that goes through several long steps in turn. */
export class StepProgress {
  private current: { step: string; bar: ProgressBar } | null = null;

  constructor(private readonly prefix: string) {}

  update(step: string, done: number, total: number): void {
    if (this.current?.step !== step) {
      this.finish();
      this.current = { step, bar: new ProgressBar(`${this.prefix}: ${step}`) };
    }
    this.current.bar.update({ done, total, detail: `${done}/${total}` });
  }

  /** Closes the current step's bar, if any. */
  finish(): void {
    this.current?.bar.finish('done');
    this.current = null;
  }
}
