// Log-Mel/Δ/ΔΔ features: the offline reference and the streaming operator that must match it
// for any chunking (docs/features.md is the definition).
import type { OperatorFunction } from 'rxjs';
import { stageOperator } from '../util/rx.js';
import { LogMelAnalyzer } from './logmel.js';
import { FRAME_HOP, FRAME_LENGTH, FRAME_SIZE, N_CHANNELS, N_MELS } from './types.js';

export interface Features {
  frames: number;
  /** frames × 120 floats, [t][mel][channel]. */
  data: Float32Array;
}

/** Frames a signal of n samples yields: one per 160-sample hop once all 400 samples exist. */
export function frameCount(samples: number): number {
  return samples < FRAME_LENGTH ? 0 : Math.floor((samples - FRAME_LENGTH) / FRAME_HOP) + 1;
}

/** Regression delta with N = 2: (1·(x[t+1] − x[t−1]) + 2·(x[t+2] − x[t−2])) / 10. */
function delta(xm2: number, xm1: number, xp1: number, xp2: number): number {
  return (xp1 - xm1 + 2 * (xp2 - xm2)) / 10;
}

/** Δ of a [T][40] sequence with indices clamped to [0, T−1] (edge replication). */
export function deltaSequence(x: Float64Array, T: number): Float64Array {
  const d = new Float64Array(T * N_MELS);
  const at = (t: number) => Math.min(T - 1, Math.max(0, t)) * N_MELS;
  for (let t = 0; t < T; t++) {
    const m2 = at(t - 2),
      m1 = at(t - 1),
      p1 = at(t + 1),
      p2 = at(t + 2);
    for (let m = 0; m < N_MELS; m++) d[t * N_MELS + m] = delta(x[m2 + m], x[m1 + m], x[p1 + m], x[p2 + m]);
  }
  return d;
}

/** The offline reference: features of a whole 16 kHz mono signal. */
export function computeFeatures(signal16k: Float32Array): Features {
  const T = frameCount(signal16k.length);
  const c = new Float64Array(T * N_MELS);
  const analyzer = new LogMelAnalyzer();
  for (let t = 0; t < T; t++) analyzer.compute(signal16k, t * FRAME_HOP, c, t * N_MELS);
  const d = deltaSequence(c, T);
  const dd = deltaSequence(d, T);
  const data = new Float32Array(T * FRAME_SIZE);
  for (let i = 0; i < T * N_MELS; i++) {
    data[i * N_CHANNELS] = c[i];
    data[i * N_CHANNELS + 1] = d[i];
    data[i * N_CHANNELS + 2] = dd[i];
  }
  return { frames: T, data };
}

/** Ring of the last 8 rows of 40 values, addressed by absolute frame index. */
class Rows {
  readonly data = new Float64Array(8 * N_MELS);
}

/** Ring offset of frame t clamped to [0, last] (edge replication). */
function rowOf(t: number, last: number): number {
  return ((t < 0 ? 0 : t > last ? last : t) & 7) * N_MELS;
}

/**
 * Streaming front end. push() takes 16 kHz samples in any pieces and calls `emit` with every
 * feature frame that is final; end() flushes the last frames with edge replication. Frame t is
 * final once log-mel frame t+4 exists (Δ needs t+2, ΔΔ needs Δ at t+2).
 */
export class FeatureStream {
  private readonly analyzer = new LogMelAnalyzer();
  private samples = new Float32Array(16000);
  /** Absolute index of samples[0]. */
  private sampleStart = 0;
  private sampleLen = 0;
  private readonly c = new Rows();
  private readonly d = new Rows();
  /** Log-mel frames computed / Δ frames computed / frames emitted. */
  private nC = 0;
  private nD = 0;
  private nOut = 0;
  private ended = false;

  constructor(private readonly emit: (frame: Float32Array) => void) {}

  /** Frames emitted so far. */
  get framesEmitted(): number {
    return this.nOut;
  }

  push(chunk: Float32Array): void {
    if (this.ended) throw new Error('FeatureStream.push after end');
    this.append(chunk);
    // Frame t needs samples up to 160t + 399.
    while (this.nC * FRAME_HOP + FRAME_LENGTH <= this.sampleStart + this.sampleLen) {
      this.analyzer.compute(this.samples, this.nC * FRAME_HOP - this.sampleStart, this.c.data, (this.nC & 7) * N_MELS);
      this.nC++;
      // Δ at u = nC − 3 now has its right neighbours; then ΔΔ and the output at u − 2.
      if (this.nC >= 3) this.step(this.nC - 1);
    }
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    const last = this.nC - 1;
    while (this.nD < this.nC) this.computeDelta(this.nD, last);
    while (this.nOut < this.nC) this.output(this.nOut, last);
  }

  /** Called with the index of the newest log-mel frame (≥ 2) before the end is known. */
  private step(newest: number): void {
    const u = newest - 2;
    this.computeDelta(u, newest);
    if (u >= 2) this.output(u - 2, u);
  }

  private computeDelta(u: number, last: number): void {
    const x = this.c.data;
    const m2 = rowOf(u - 2, last),
      m1 = rowOf(u - 1, last),
      p1 = rowOf(u + 1, last),
      p2 = rowOf(u + 2, last);
    const d = this.d.data;
    const dRow = rowOf(u, last);
    for (let m = 0; m < N_MELS; m++) d[dRow + m] = delta(x[m2 + m], x[m1 + m], x[p1 + m], x[p2 + m]);
    this.nD = u + 1;
  }

  /** Emits frame t; `last` is the newest Δ frame its ΔΔ may read (clamped to it). */
  private output(t: number, last: number): void {
    const x = this.d.data,
      c = this.c.data;
    const m2 = rowOf(t - 2, last),
      m1 = rowOf(t - 1, last),
      p1 = rowOf(t + 1, last),
      p2 = rowOf(t + 2, last);
    const row = rowOf(t, last);
    const out = new Float32Array(FRAME_SIZE);
    for (let m = 0; m < N_MELS; m++) {
      out[m * 3] = c[row + m];
      out[m * 3 + 1] = x[row + m];
      out[m * 3 + 2] = delta(x[m2 + m], x[m1 + m], x[p1 + m], x[p2 + m]);
    }
    this.nOut = t + 1;
    this.emit(out);
  }

  private append(x: Float32Array): void {
    if (this.sampleLen + x.length > this.samples.length) {
      // Keep only what the next frame reads.
      const keepFrom = this.nC * FRAME_HOP - this.sampleStart;
      if (keepFrom > 0) {
        this.samples.copyWithin(0, keepFrom, this.sampleLen);
        this.sampleLen -= keepFrom;
        this.sampleStart += keepFrom;
      }
      if (this.sampleLen + x.length > this.samples.length) {
        const bigger = new Float32Array(Math.max(this.samples.length * 2, this.sampleLen + x.length));
        bigger.set(this.samples.subarray(0, this.sampleLen));
        this.samples = bigger;
      }
    }
    this.samples.set(x, this.sampleLen);
    this.sampleLen += x.length;
  }
}

/** RxJS operator: 16 kHz mono chunks in, one 120-float feature frame out per 10 ms. */
export function logMelFeatures(): OperatorFunction<Float32Array, Float32Array> {
  return stageOperator((emit) => new FeatureStream(emit));
}
