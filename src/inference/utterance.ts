// The paper's utterance-level decision: the mean of the posteriors of the utterance's windows.
// The trainer's evaluation, `emostream analyze` and the server's speech turns all decide this way.
import { cutWindow, utteranceWindows } from '../dsp/utterance.js';
import type { Engine } from './engine.js';

/**
 * Per-utterance mean posteriors from window posteriors: window i (k values at probs[i*k…])
 * belongs to utterance owner[i]. An utterance without windows gets zeros.
 */
export function averagePosteriors(owner: ArrayLike<number>, probs: Float32Array, utterances: number, k: number): Float32Array[] {
  const sums = Array.from({ length: utterances }, () => new Float32Array(k));
  const counts = new Int32Array(utterances);
  for (let i = 0; i < owner.length; i++) {
    const u = owner[i];
    for (let c = 0; c < k; c++) sums[u][c] += probs[i * k + c];
    counts[u]++;
  }
  return sums.map((s, u) => s.map((v) => v / Math.max(1, counts[u])));
}

/** The mean of one utterance's window posteriors (k values each). */
export function meanPosterior(posteriors: readonly ArrayLike<number>[], k: number): Float32Array {
  const flat = new Float32Array(posteriors.length * k);
  posteriors.forEach((p, i) => flat.set(p, i * k));
  return averagePosteriors(new Int32Array(posteriors.length), flat, 1, k)[0];
}

/** One utterance's features ([frames][FRAME_SIZE]) through an engine: the mean posterior and the window count. */
export async function scoreUtterance(
  engine: Engine,
  features: { frames: number; data: Float32Array },
): Promise<{ probs: Float32Array; windows: number }> {
  const windows = utteranceWindows(features.frames).map((w) => cutWindow(features.data, w));
  const post = await engine.infer(windows);
  return { probs: meanPosterior(post, engine.labels.length), windows: windows.length };
}
