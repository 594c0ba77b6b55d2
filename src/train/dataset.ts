// From utterances to model inputs: 300-frame segments (the paper's segmentation), the
// normalisation statistics, and batches.
//
// Segmentation (docs/training.md): the front end's window rule (src/dsp/windows.ts) with a
// hop of 150 frames (50 % overlap): full windows at 0, 150, 300…, plus one zero-padded tail
// window when frames after the last full window remain; an utterance shorter than 300 frames
// is one zero-padded window. Padding is zeros in the RAW feature domain, exactly what the
// streaming server feeds an engine, which then z-scores the whole window.
import { planWindows } from '../dsp/windows.js';
import { FRAME_SIZE, WINDOW_FRAMES } from '../dsp/types.js';
import type { Utterance } from './corpus.js';
import type { UtteranceFeatures } from './features-cache.js';

export const TRAIN_HOP_FRAMES = 150;
export const WINDOW_SIZE = WINDOW_FRAMES * FRAME_SIZE;

export interface LoadedUtterance extends Utterance {
  /** Index into the corpus's label list. */
  y: number;
  features: UtteranceFeatures;
}

export interface Segment {
  /** Index of the utterance in the list the segments were made from. */
  utt: number;
  startFrame: number;
  validFrames: number;
  y: number;
}

export function segmentsOf(utts: readonly LoadedUtterance[], hop = TRAIN_HOP_FRAMES): Segment[] {
  const out: Segment[] = [];
  utts.forEach((u, i) => {
    const plan = planWindows(u.features.frames, { hopFrames: hop });
    if (plan.length === 0) out.push({ utt: i, startFrame: 0, validFrames: 0, y: u.y }); // < 1 frame: all padding
    for (const w of plan) out.push({ utt: i, startFrame: w.startFrame, validFrames: w.validFrames, y: u.y });
  });
  return out;
}

/** Mean and standard deviation per (mel, channel) over every real frame of the utterances. */
export function normStats(utts: readonly LoadedUtterance[]): { mean: number[]; std: number[] } {
  const sum = new Float64Array(FRAME_SIZE);
  const sq = new Float64Array(FRAME_SIZE);
  let n = 0;
  for (const u of utts) {
    const d = u.features.data;
    for (let t = 0; t < u.features.frames; t++) {
      const base = t * FRAME_SIZE;
      for (let i = 0; i < FRAME_SIZE; i++) {
        const v = d[base + i];
        sum[i] += v;
        sq[i] += v * v;
      }
    }
    n += u.features.frames;
  }
  const mean: number[] = [];
  const std: number[] = [];
  for (let i = 0; i < FRAME_SIZE; i++) {
    const m = n ? sum[i] / n : 0;
    mean.push(m);
    std.push(n ? Math.max(1e-5, Math.sqrt(Math.max(0, sq[i] / n - m * m))) : 1);
  }
  return { mean, std };
}

/** The raw (unnormalised, zero-padded) window of a segment, written into out. */
export function rawWindow(utts: readonly LoadedUtterance[], s: Segment, out = new Float32Array(WINDOW_SIZE)): Float32Array {
  const d = utts[s.utt].features.data;
  const n = s.validFrames * FRAME_SIZE;
  out.set(d.subarray(s.startFrame * FRAME_SIZE, s.startFrame * FRAME_SIZE + n));
  out.fill(0, n);
  return out;
}

/** A normalised batch: x is [B, 300, 40, 3] flattened, y the class indices. */
export function makeBatch(utts: readonly LoadedUtterance[], segs: readonly Segment[], mean: ArrayLike<number>, std: ArrayLike<number>): { x: Float32Array; y: Int32Array } {
  const x = new Float32Array(segs.length * WINDOW_SIZE);
  const y = new Int32Array(segs.length);
  const inv = Float32Array.from({ length: FRAME_SIZE }, (_, i) => 1 / std[i]);
  segs.forEach((s, b) => {
    const w = x.subarray(b * WINDOW_SIZE, (b + 1) * WINDOW_SIZE);
    rawWindow(utts, s, w);
    for (let base = 0; base < WINDOW_SIZE; base += FRAME_SIZE) {
      for (let i = 0; i < FRAME_SIZE; i++) w[base + i] = (w[base + i] - mean[i]) * inv[i];
    }
    y[b] = s.y;
  });
  return { x, y };
}
