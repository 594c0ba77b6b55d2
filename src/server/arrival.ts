// When did a given audio sample reach the server? The session records each received chunk's
// arrival time against the running sample count; a window's latency is measured from the arrival
// of its last sample (what a latency benchmark measures against).

export class ArrivalClock {
  /** Cumulative input frames at the end of each chunk, and its arrival time (performance.now()). */
  private ends: number[] = [];
  private times: number[] = [];
  private head = 0;
  private total = 0;

  /** Records that `frames` more input frames (samples per channel) arrived at time `t`. */
  record(frames: number, t: number): void {
    if (frames <= 0) return;
    this.total += frames;
    this.ends.push(this.total);
    this.times.push(t);
  }

  /** Input frames received so far. */
  get frames(): number {
    return this.total;
  }

  /**
   * Arrival time of input frame `index` (0-based), or of the last frame received when `index` lies
   * beyond it. Queries must not go backwards: earlier entries are discarded as it moves on.
   */
  arrivalOf(index: number): number | undefined {
    if (this.head >= this.ends.length) return this.times[this.times.length - 1];
    while (this.head < this.ends.length - 1 && this.ends[this.head] <= index) this.head++;
    if (this.head > 4096) {
      this.ends = this.ends.slice(this.head);
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return this.times[this.head];
  }
}
