// From utterances to model inputs: 300-frame segments (the paper's segmentation), the
// normalisation statistics, and batches.
//
// Segmentation is the utterance rule of src/dsp/utterance.ts (docs/training.md); batches are
// z-scored with src/dsp/normalize.ts, as the engines do.
import { frameStats, normalizeWindow, subtractWindowMean, type Normalization } from '../dsp/normalize.js';
import { cutWindow, UTTERANCE_HOP_FRAMES, utteranceWindows } from '../dsp/utterance.js';
import { WINDOW_SIZE } from '../dsp/types.js';
import type { Utterance } from './corpus.js';
import type { UtteranceFeatures } from './features-cache.js';

export const TRAIN_HOP_FRAMES = UTTERANCE_HOP_FRAMES;

export interface LoadedUtterance extends Utterance {
  /** Index into the corpus's label list. */
  y: number;
  features: UtteranceFeatures;
  /** The 16 kHz mono signal, kept only when training augments it. */
  signal?: Float32Array;
}

export interface Segment {
  /** Index of the utterance in the list the segments were made from. */
  utt: number;
  startFrame: number;
  validFrames: number;
  y: number;
}

export function segmentsOf(utts: readonly LoadedUtterance[], hop = TRAIN_HOP_FRAMES): Segment[] {
  return utts.flatMap((u, i) => utteranceWindows(u.features.frames, hop).map((w) => ({ utt: i, ...w, y: u.y })));
}

/**
 * The z-scoring statistics: mean and standard deviation per (mel, channel) over every real frame
 * of the utterances, or with `windowMean`, over the real frames of their mean-normalised windows
 * (what the model then sees).
 */
export function normStats(utts: readonly LoadedUtterance[], windowMean = false): Normalization {
  if (!windowMean) return frameStats(utts.map((u) => u.features));
  const runs = segmentsOf(utts).map((s) => ({ frames: s.validFrames, data: subtractWindowMean(rawWindow(utts, s)) }));
  return { ...frameStats(runs), windowMean: true };
}

/** The raw (unnormalised, zero-padded) window of a segment, written into out. */
export function rawWindow(utts: readonly LoadedUtterance[], s: Segment, out = new Float32Array(WINDOW_SIZE)): Float32Array {
  return cutWindow(utts[s.utt].features.data, s, out);
}

/** A normalised batch: x is [B, 300, 40, 3] flattened, y the class indices. */
export function makeBatch(
  utts: readonly LoadedUtterance[],
  segs: readonly Segment[],
  mean: ArrayLike<number>,
  std: ArrayLike<number>,
  windowMean = false,
): { x: Float32Array; y: Int32Array } {
  const x = new Float32Array(segs.length * WINDOW_SIZE);
  const y = new Int32Array(segs.length);
  segs.forEach((s, b) => {
    const w = x.subarray(b * WINDOW_SIZE, (b + 1) * WINDOW_SIZE);
    normalizeWindow(rawWindow(utts, s, w), { mean, std, windowMean }, w);
    y[b] = s.y;
  });
  return { x, y };
}
