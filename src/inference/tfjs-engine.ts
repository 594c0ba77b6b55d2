// Engine on a model directory with tfjs (WASM, or tfjs-node when the user has it).
import type { Engine } from './engine.js';
import { tf, initTf } from '../model/tf.js';
import { loadModelDir } from '../model/save.js';
import { modelName, type ModelMeta } from '../model-dir.js';
import { normalizeWindow } from '../dsp/normalize.js';
import { FRAME_SIZE, N_CHANNELS, N_MELS, WINDOW_FRAMES, WINDOW_SIZE } from '../dsp/types.js';
import { UserError } from '../errors.js';

export class TfjsEngine implements Engine {
  private constructor(
    readonly backend: string,
    readonly model: string,
    readonly labels: readonly string[],
    private readonly net: tf.LayersModel,
    readonly meta: ModelMeta,
  ) {}

  static async load(dir: string): Promise<TfjsEngine> {
    const backend = await initTf();
    const { model, meta } = await loadModelDir(dir);
    const out = model.outputs[0].shape;
    if (out[out.length - 1] !== meta.labels.length) {
      model.dispose();
      throw new UserError(
        'model_invalid',
        `model '${dir}' has ${out[out.length - 1]} outputs but meta.json lists ${meta.labels.length} labels`,
      );
    }
    return new TfjsEngine(backend, modelName(dir), meta.labels, model, meta);
  }

  async infer(windows: readonly Float32Array[]): Promise<Float32Array[]> {
    if (windows.length === 0) return [];
    const batch = new Float32Array(windows.length * WINDOW_SIZE);
    windows.forEach((w, i) => {
      if (w.length !== WINDOW_SIZE)
        throw new UserError(
          'bad_window',
          `a feature window must hold ${WINDOW_SIZE} floats (${WINDOW_FRAMES}×${FRAME_SIZE}), got ${w.length}`,
        );
      normalizeWindow(w, this.meta.norm, batch.subarray(i * WINDOW_SIZE, (i + 1) * WINDOW_SIZE));
    });
    const probs = tf.tidy(() => this.net.predict(tf.tensor4d(batch, [windows.length, WINDOW_FRAMES, N_MELS, N_CHANNELS])) as tf.Tensor);
    const flat = (await probs.data()) as Float32Array;
    probs.dispose();
    const k = this.labels.length;
    return windows.map((_, i) => flat.slice(i * k, (i + 1) * k));
  }

  async dispose(): Promise<void> {
    this.net.dispose();
  }
}
