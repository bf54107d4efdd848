/**
 * Progress of a run: a bar with steps/s and ETA on a terminal (redrawn at most 10 times a second),
 * a plain line every 10 % otherwise (CI logs, pipes). Writes to stderr so stdout stays parseable.
 */
export class Progress {
  private readonly start = performance.now();
  /**
   * The first step seen: the rate counts from there, so time spent setting up, or paused before
   * the first step (a `--serve --paused` run), does not inflate the ETA.
   */
  private first: { t: number; done: number } | null = null;
  private lastDraw = 0;
  private lastDecile = -1;
  private readonly tty = process.stderr.isTTY === true;

  constructor(
    private readonly label: string,
    /** What is counted (the rate's unit). */
    private readonly unit = 'steps',
  ) {}

  update(done: number, total: number): void {
    const now = performance.now();
    if (this.tty) {
      if (now - this.lastDraw < 100 && done < total) return;
      this.lastDraw = now;
      process.stderr.write(`\r${this.line(done, total, now)}\x1b[K`);
    } else {
      const decile = Math.floor((10 * done) / total);
      if (decile === this.lastDecile) return;
      this.lastDecile = decile;
      process.stderr.write(`${this.line(done, total, now)}\n`);
    }
  }

  log(line: string): void {
    process.stderr.write(this.tty ? `\r\x1b[K${line}\n` : `${line}\n`);
  }

  finish(done: number): void {
    const secs = (performance.now() - this.start) / 1000;
    if (this.tty) process.stderr.write('\n');
    process.stderr.write(`${this.label}: ${done} steps in ${secs.toFixed(1)} s\n`);
  }

  private line(done: number, total: number, now: number): string {
    this.first ??= { t: now, done };
    const secs = (now - this.first.t) / 1000;
    const rate = secs > 0 ? (done - this.first.done) / secs : 0;
    const eta = rate > 0 ? (total - done) / rate : Number.NaN;
    const width = 30;
    const filled = Math.round((width * done) / total);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    return `${this.label} [${bar}] ${done}/${total} ${rate.toFixed(1)} ${this.unit}/s ETA ${formatSecs(eta)}`;
  }
}

function formatSecs(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
