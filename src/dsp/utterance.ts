// A whole utterance → model windows, the way the paper segments for training and for its
// utterance-level decision (docs/training.md): the window rule of windows.ts with a hop of 150
// frames (50 % overlap); an utterance shorter than one frame still gives one all-padding window.
// Padding is zeros in the raw feature domain, exactly what the streaming server feeds an engine.
import { planWindows } from './windows.js';
import { FRAME_SIZE, WINDOW_SIZE } from './types.js';

export const UTTERANCE_HOP_FRAMES = 150;

/** A window of an utterance: its first frame and how many real frames it holds. */
export interface UtteranceWindow {
  startFrame: number;
  validFrames: number;
}

export function utteranceWindows(frames: number, hop = UTTERANCE_HOP_FRAMES): UtteranceWindow[] {
  const plan = planWindows(frames, { hopFrames: hop });
  if (plan.length === 0) return [{ startFrame: 0, validFrames: 0 }];
  return plan.map((w) => ({ startFrame: w.startFrame, validFrames: w.validFrames }));
}

/** The raw (unnormalised, zero-padded) window of `features` ([frames][FRAME_SIZE]), written into out. */
export function cutWindow(features: Float32Array, w: UtteranceWindow, out = new Float32Array(WINDOW_SIZE)): Float32Array {
  const n = w.validFrames * FRAME_SIZE;
  out.set(features.subarray(w.startFrame * FRAME_SIZE, w.startFrame * FRAME_SIZE + n));
  out.fill(0, n);
  return out;
}
