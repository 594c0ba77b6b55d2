// Per-(mel, channel) z-scoring, in one place: the statistics the trainer stores in meta.json and
// their application, which the trainer, the tfjs engine and the ONNX export (which folds it into
// the graph) all use.
import { FRAME_SIZE } from './types.js';

/** The smallest standard deviation a statistic may have: a constant feature is not blown up. */
export const MIN_STD = 1e-5;

/** Mean and standard deviation per (mel, channel) over every frame of the given feature runs. */
export function frameStats(runs: readonly { frames: number; data: Float32Array }[]): { mean: number[]; std: number[] } {
  const sum = new Float64Array(FRAME_SIZE);
  const sq = new Float64Array(FRAME_SIZE);
  let n = 0;
  for (const r of runs) {
    const d = r.data;
    for (let t = 0; t < r.frames; t++) {
      const base = t * FRAME_SIZE;
      for (let i = 0; i < FRAME_SIZE; i++) {
        const v = d[base + i];
        sum[i] += v;
        sq[i] += v * v;
      }
    }
    n += r.frames;
  }
  const mean: number[] = [];
  const std: number[] = [];
  for (let i = 0; i < FRAME_SIZE; i++) {
    const m = n ? sum[i] / n : 0;
    mean.push(m);
    std.push(n ? Math.max(MIN_STD, Math.sqrt(Math.max(0, sq[i] / n - m * m))) : 1);
  }
  return { mean, std };
}

/** z-score a window (or any whole number of frames) into out (allocated if absent). A standard
 *  deviation below MIN_STD (never stored by frameStats) leaves that feature unscaled. */
export function normalizeFrames(
  raw: Float32Array,
  mean: ArrayLike<number>,
  std: ArrayLike<number>,
  out = new Float32Array(raw.length),
): Float32Array {
  const inv = new Float32Array(FRAME_SIZE);
  for (let i = 0; i < FRAME_SIZE; i++) inv[i] = 1 / (std[i] >= MIN_STD ? std[i] : 1);
  for (let base = 0; base < raw.length; base += FRAME_SIZE) {
    for (let i = 0; i < FRAME_SIZE; i++) out[base + i] = (raw[base + i] - mean[i]) * inv[i];
  }
  return out;
}
