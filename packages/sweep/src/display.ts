/**
 * One progress display for a whole sweep: a bar over runs (finished runs plus the fraction done of
 * running ones), counts and an ETA, redrawn at most 10 times a second on a terminal; on a pipe, a
 * line per finished or failed run. Writes to stderr so stdout stays parseable.
 */
export class SweepProgress {
  private readonly start = performance.now();
  private lastDraw = 0;
  private readonly tty = process.stderr.isTTY === true;
  private readonly running = new Map<string, number>();
  done = 0;
  failed = 0;
  queued = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly quiet = false,
  ) {}

  /** Runs already done before this invocation count as done. */
  skip(n: number): void {
    this.done += n;
    this.draw();
  }

  setRunning(name: string, fraction: number): void {
    this.running.set(name, fraction);
    this.draw();
  }

  finishRun(name: string, ok: boolean, note: string): void {
    this.running.delete(name);
    if (ok) this.done++;
    else this.failed++;
    this.log(`${ok ? 'done' : 'FAILED'} ${name}${note ? ` ${note}` : ''}`);
  }

  /** Replace all counts at once (the queue is polled rather than told). */
  set(counts: {
    done: number;
    failed: number;
    queued: number;
    running: Map<string, number>;
  }): void {
    this.done = counts.done;
    this.failed = counts.failed;
    this.queued = counts.queued;
    this.running.clear();
    for (const [k, v] of counts.running) this.running.set(k, v);
    this.draw();
  }

  log(line: string): void {
    if (this.quiet) return;
    process.stderr.write(this.tty ? `\r\x1b[K${line}\n` : `${line}\n`);
    this.draw(true);
  }

  finish(): void {
    if (this.quiet) return;
    const secs = (performance.now() - this.start) / 1000;
    if (this.tty) process.stderr.write(`\r\x1b[K`);
    process.stderr.write(
      `${this.label}: ${this.done}/${this.total} runs done, ${this.failed} failed, in ${secs.toFixed(1)} s\n`,
    );
  }

  private draw(force = false): void {
    if (this.quiet || !this.tty) return;
    const now = performance.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    process.stderr.write(`\r${this.line(now)}\x1b[K`);
  }

  line(now = performance.now()): string {
    let partial = 0;
    for (const f of this.running.values()) partial += f;
    const progress = this.done + this.failed + partial;
    const secs = (now - this.start) / 1000;
    const width = 30;
    const filled = Math.min(width, Math.round((width * progress) / Math.max(1, this.total)));
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    const rate = progress / Math.max(secs, 1e-9);
    const eta = rate > 0 ? (this.total - progress) / rate : Number.NaN;
    const parts = [`${this.done}/${this.total} done`, `${this.running.size} running`];
    if (this.queued > 0) parts.push(`${this.queued} queued`);
    if (this.failed > 0) parts.push(`${this.failed} failed`);
    return `${this.label} [${bar}] ${parts.join(', ')} ETA ${formatSecs(eta)}`;
  }
}

function formatSecs(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
