// Per-(mel, channel) z-scoring shared by the trainer and the engines.
import { FRAME_SIZE } from '../dsp/types.js';

/** z-score a window (or any whole number of frames) into out (allocated if absent). */
export function normalizeFrames(raw: Float32Array, mean: ArrayLike<number>, std: ArrayLike<number>, out = new Float32Array(raw.length)): Float32Array {
  const inv = new Float32Array(FRAME_SIZE);
  for (let i = 0; i < FRAME_SIZE; i++) inv[i] = 1 / (std[i] > 1e-8 ? std[i] : 1);
  for (let base = 0; base < raw.length; base += FRAME_SIZE) {
    for (let i = 0; i < FRAME_SIZE; i++) out[base + i] = (raw[base + i] - mean[i]) * inv[i];
  }
  return out;
}
