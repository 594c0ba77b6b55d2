// Deterministic feature windows drawn around a model's normalisation statistics: the inputs of
// the exporter's parity check and of --provider auto's start-up check, which must not depend on
// speech data being on the machine.
import type { ModelMeta } from '../model-dir.js';
import { FRAME_SIZE, WINDOW_SIZE } from '../dsp/types.js';

/** In-distribution synthetic windows (mean + std·noise per feature), for a check without audio. */
export function syntheticWindows(meta: Pick<ModelMeta, 'norm'>, n: number, seed = 1): Float32Array[] {
  let s = seed >>> 0 || 1;
  const rand = () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  return Array.from({ length: n }, () => {
    const w = new Float32Array(WINDOW_SIZE);
    for (let i = 0; i < WINDOW_SIZE; i++) {
      const f = i % FRAME_SIZE;
      // Sum of uniforms ≈ normal, enough to exercise every feature's range.
      const z = (rand() + rand() + rand() + rand() - 2) * 1.7;
      w[i] = meta.norm.mean[f] + meta.norm.std[f] * z;
    }
    return w;
  });
}
