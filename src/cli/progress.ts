/**
 * Progress for long CLI work: a bar with rate and ETA on a terminal, nothing when the
 * output is piped (so logs and `--json` output stay clean).
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** Advance by `n` units (default 1). */
  tick(n?: number): void;
  /** Set the absolute position. */
  update(value: number): void;
  /** Change the total once it becomes known. */
  setTotal(total: number): void;
  stop(): void;
}

export function createProgress(label: string, total = 0, unit = 'items'): Progress {
  if (!process.stderr.isTTY || process.env.CI) {
    return { tick() {}, update() {}, setTotal() {}, stop() {} };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let value = 0;
  bar.start(total, 0, { rate: '0' });
  const rate = () => Math.round(value / Math.max(0.001, (Date.now() - started) / 1000)).toLocaleString('en');
  return {
    tick(n = 1) {
      value += n;
      bar.update(value, { rate: rate() });
    },
    update(v) {
      value = v;
      bar.update(value, { rate: rate() });
    },
    setTotal(t) {
      bar.setTotal(t);
    },
    stop() {
      bar.stop();
    },
  };
}
