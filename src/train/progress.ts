// A one-line progress bar on stderr. On a terminal it redraws in place; in a log file it
// writes a line at most every 30 s, so nohup'd runs stay readable.
export class Progress {
  private last = 0;
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(
    private readonly enabled: boolean,
    private readonly label: string,
  ) {}

  update(head: string, fraction: number, tail: string): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (this.tty) {
      if (now - this.last < 100 && fraction < 1) return;
      const width = 24;
      const filled = Math.round(width * Math.min(1, fraction));
      const line = `${this.label ? this.label + ' ' : ''}${head} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${tail}`;
      process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns ?? 160) - 1)}`);
    } else if (now - this.last >= 30_000) {
      process.stderr.write(`${this.label ? this.label + ' ' : ''}${head} ${(100 * fraction).toFixed(0)}% ${tail}\n`);
    } else return;
    this.last = now;
  }

  done(line: string): void {
    if (!this.enabled) return;
    process.stderr.write(`${this.tty ? '\r\x1b[K' : ''}${this.label ? this.label + ' ' : ''}${line}\n`);
    this.last = 0;
  }
}
