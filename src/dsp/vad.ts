// Energy-based voice activity detection on 16 kHz mono audio, in 10 ms frames aligned with the
// feature frames' hop. The noise floor adapts: it is the quietest 10 ms frame of the last few
// seconds (a minimum-statistics tracker), so a steady fan or hum raises it and speech, which
// always has pauses between syllables, does not. A frame is speech when it is `thresholdDb`
// above that floor and above an absolute minimum; the speech state switches on after `onMs`
// of speech frames and off after `hangoverMs` without, so short gaps inside words stay speech.
import { FRAME_HOP, FRAME_MS } from './types.js';

export interface VadOptions {
  thresholdDb: number;
  minDbfs: number;
  /** How far back the noise floor looks, ms. */
  floorWindowMs?: number;
  onMs?: number;
  hangoverMs?: number;
}

/** The voice-activity defaults: the server's `vadThresholdDb`/`vadMinDbfs` and `analyze` both start from these. */
export const DEFAULT_VAD: VadOptions = { thresholdDb: 9, minDbfs: -55 };

export interface SpeechTransition {
  active: boolean;
  /** Stream time of the transition (where the speech run began / ended), ms. */
  atMs: number;
}

const BLOCK_FRAMES = 10; // the floor tracker keeps one minimum per 100 ms

export class EnergyVad {
  private readonly thresholdDb: number;
  private readonly minDbfs: number;
  private readonly onFrames: number;
  private readonly offFrames: number;
  /** Minima of the completed blocks inside the floor window (oldest first) and of the current block. */
  private readonly blockMins: number[] = [];
  private readonly maxBlocks: number;
  private blockMin = Infinity;
  private blockFill = 0;
  /** Samples of the current, incomplete 10 ms frame. */
  private readonly partial = new Float32Array(FRAME_HOP);
  private partialLen = 0;
  /** Per-frame speech state (after on/hangover smoothing), frames [base, base + flags.length). */
  private flags = new Uint8Array(1024);
  private base = 0;
  private count = 0;
  private active = false;
  private run = 0; // consecutive frames disagreeing with `active`

  constructor(opts: VadOptions) {
    this.thresholdDb = opts.thresholdDb;
    this.minDbfs = opts.minDbfs;
    this.onFrames = Math.max(1, Math.round((opts.onMs ?? 50) / FRAME_MS));
    this.offFrames = Math.max(1, Math.round((opts.hangoverMs ?? 300) / FRAME_MS));
    this.maxBlocks = Math.max(1, Math.round((opts.floorWindowMs ?? 5000) / (FRAME_MS * BLOCK_FRAMES)));
  }

  /** 10 ms frames seen so far (the stream time of the next frame is frames * 10 ms). */
  get frames(): number {
    return this.count;
  }

  get speaking(): boolean {
    return this.active;
  }

  /** Frames without speech after which a run ends: its `off` transition is decided this many frames after it. */
  get hangoverFrames(): number {
    return this.offFrames;
  }

  /** Current noise floor estimate, dBFS. */
  get floorDb(): number {
    let m = this.blockMin;
    for (const b of this.blockMins) if (b < m) m = b;
    return m;
  }

  /** Feeds samples; returns the speech on/off transitions they complete. */
  push(samples: Float32Array): SpeechTransition[] {
    const out: SpeechTransition[] = [];
    let i = 0;
    while (i < samples.length) {
      const take = Math.min(FRAME_HOP - this.partialLen, samples.length - i);
      this.partial.set(samples.subarray(i, i + take), this.partialLen);
      this.partialLen += take;
      i += take;
      if (this.partialLen === FRAME_HOP) {
        this.frame(this.partial, FRAME_HOP, out);
        this.partialLen = 0;
      }
    }
    return out;
  }

  /** End of a segment: the incomplete last frame counts as a (short) frame of its own. */
  end(): SpeechTransition[] {
    const out: SpeechTransition[] = [];
    if (this.partialLen > 0) this.frame(this.partial, this.partialLen, out);
    this.partialLen = 0;
    return out;
  }

  /** Fraction of frames [start, end) marked speech; frames not yet seen count as silence. */
  speechFraction(start: number, end: number): number {
    if (end <= start) return 0;
    let n = 0;
    const lo = Math.max(start, this.base);
    const hi = Math.min(end, this.count);
    for (let t = lo; t < hi; t++) n += this.flags[t - this.base];
    return n / (end - start);
  }

  /** Frames before `frame` will not be asked about again. */
  forget(frame: number): void {
    const drop = Math.min(frame, this.count) - this.base;
    if (drop <= 0) return;
    this.flags.copyWithin(0, drop, this.count - this.base);
    this.base += drop;
  }

  private frame(x: Float32Array, n: number, out: SpeechTransition[]): void {
    let e = 0;
    for (let k = 0; k < n; k++) e += x[k] * x[k];
    const db = 10 * Math.log10(e / n + 1e-12);
    const floor = Math.min(this.floorDb, db);
    const raw = db >= this.minDbfs && db - floor >= this.thresholdDb;
    this.track(db);

    const t = this.count;
    this.store(t, this.active ? 1 : 0);
    this.count++;
    if (raw === this.active) {
      this.run = 0;
      return;
    }
    this.run++;
    if (!this.active && this.run >= this.onFrames) {
      // The onset frames were speech too: mark them so.
      const first = t - this.run + 1;
      for (let f = Math.max(first, this.base); f <= t; f++) this.flags[f - this.base] = 1;
      this.active = true;
      this.run = 0;
      out.push({ active: true, atMs: first * FRAME_MS });
    } else if (this.active && this.run >= this.offFrames) {
      const first = t - this.run + 1;
      for (let f = Math.max(first, this.base); f <= t; f++) this.flags[f - this.base] = 0;
      this.active = false;
      this.run = 0;
      out.push({ active: false, atMs: first * FRAME_MS });
    }
  }

  private track(db: number): void {
    if (db < this.blockMin) this.blockMin = db;
    if (++this.blockFill < BLOCK_FRAMES) return;
    this.blockMins.push(this.blockMin);
    if (this.blockMins.length > this.maxBlocks) this.blockMins.shift();
    this.blockMin = Infinity;
    this.blockFill = 0;
  }

  private store(t: number, v: number): void {
    const at = t - this.base;
    if (at >= this.flags.length) {
      const bigger = new Uint8Array(this.flags.length * 2);
      bigger.set(this.flags);
      this.flags = bigger;
    }
    this.flags[at] = v;
  }
}
