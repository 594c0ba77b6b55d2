// Smoothing of posterior vectors over stream time.
//
// PosteriorSmoother: exponential smoothing with a time constant, so the result does not depend
// on the session's hop: each update moves a fraction 1 - exp(-Δt/τ) toward the new value.
//
// SpeechVoter (what sessions use): a window votes with a weight equal to the speech of the
// current turn it holds (ms), so a mostly silent early window barely counts and silence not at
// all; older votes fade with the time constant; the sum restarts at each turn. Its result is
// withheld until one window has held `minSpeechMs` of the turn's speech.

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

export interface VoterOptions {
  /** Time constant of the fading of older votes, ms; 0 = only the latest voting window counts. */
  timeConstantMs: number;
  /** Speech (ms of the current turn) one window must hold before the voter gives a result. */
  minSpeechMs: number;
  /** …or, once the turn is over, this much (default: minSpeechMs, i.e. no exception for short turns). */
  minTurnSpeechMs?: number;
}

export class SpeechVoter {
  private sum: Float64Array | undefined;
  private weight = 0;
  private lastMs = 0;
  private mostSpeechMs = 0;

  constructor(readonly opts: VoterOptions) {
    if (!(opts.timeConstantMs >= 0) || !Number.isFinite(opts.timeConstantMs))
      throw new RangeError(`time constant must be a finite number ≥ 0, got ${opts.timeConstantMs}`);
  }

  /**
   * A window ending at `atMs` that holds `speechMs` of the current turn's speech votes for
   * `probs`. Returns the vote-weighted, time-faded mean, or undefined while no window has yet
   * held minSpeechMs of the turn (or nothing has voted).
   */
  vote(probs: ArrayLike<number>, speechMs: number, atMs: number, turnOver = false): Float64Array | undefined {
    if (speechMs > 0) {
      const fade = !this.sum
        ? 0
        : this.opts.timeConstantMs === 0
          ? 0
          : Math.exp(-Math.max(0, atMs - this.lastMs) / this.opts.timeConstantMs);
      if (!this.sum || this.sum.length !== probs.length) this.sum = new Float64Array(probs.length);
      for (let i = 0; i < probs.length; i++) this.sum[i] = this.sum[i] * fade + speechMs * probs[i];
      this.weight = this.weight * fade + speechMs;
      this.lastMs = atMs;
      if (speechMs > this.mostSpeechMs) this.mostSpeechMs = speechMs;
    }
    const need = turnOver ? Math.min(this.opts.minSpeechMs, this.opts.minTurnSpeechMs ?? this.opts.minSpeechMs) : this.opts.minSpeechMs;
    if (!this.sum || this.weight <= 0 || this.mostSpeechMs < need) return undefined;
    return this.sum.map((v) => v / this.weight);
  }

  /** A new turn: its votes start from nothing. */
  reset(): void {
    this.sum = undefined;
    this.weight = 0;
    this.mostSpeechMs = 0;
  }
}
