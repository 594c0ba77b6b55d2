// Exponential smoothing of posterior vectors with a time constant, so the result does not
// depend on the session's hop: each update moves a fraction 1 - exp(-Δt/τ) toward the new value.

export class PosteriorSmoother {
  private state: Float64Array | undefined;
  private lastMs = 0;

  /** timeConstantMs 0 disables smoothing (every update returns its input). */
  constructor(readonly timeConstantMs: number) {
    if (!(timeConstantMs >= 0) || !Number.isFinite(timeConstantMs))
      throw new RangeError(`time constant must be a finite number ≥ 0, got ${timeConstantMs}`);
  }

  /** Folds in the posteriors of a window ending at `atMs` (stream time) and returns the smoothed vector. */
  update(probs: ArrayLike<number>, atMs: number): Float64Array {
    if (!this.state || this.state.length !== probs.length) {
      this.state = Float64Array.from(probs);
      this.lastMs = atMs;
      return Float64Array.from(this.state);
    }
    const dt = Math.max(0, atMs - this.lastMs);
    this.lastMs = atMs;
    const a = this.timeConstantMs === 0 ? 1 : 1 - Math.exp(-dt / this.timeConstantMs);
    if (a === 1) this.state.set(Array.from(probs));
    else for (let i = 0; i < probs.length; i++) this.state[i] += a * (probs[i] - this.state[i]);
    return Float64Array.from(this.state);
  }

  /** Forget the past (after silence, the next speech starts fresh). */
  reset(): void {
    this.state = undefined;
  }
}
