// Model directory → model.onnx: load the tfjs model, convert it with the input normalisation
// folded in, write the file beside it, and check ONNX Runtime agrees with tfjs.
import { writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { tf, initTf } from '../model/tf.js';
import { loadModelDir } from '../model/save.js';
import type { ModelMeta } from '../model-dir.js';
import { meanNormalized, normalizeFrames } from '../dsp/normalize.js';
import { FRAME_SIZE, N_CHANNELS, N_MELS, WINDOW_FRAMES, WINDOW_SIZE } from '../dsp/types.js';
import { FINGERPRINT_KEY, sourceFingerprint } from '../inference/fingerprint.js';
import { calibrationWindows } from './calibration.js';
import { GraphBuilder } from './graph.js';
import { decodeModel, encodeModel } from './proto.js';
import { quantizeConvs } from './quantize.js';
import { convertLayersModel } from './keras-to-onnx.js';
import { INPUT_NAME, OUTPUT_NAME, sessionOptions } from '../inference/ort-session.js';
import { syntheticWindows } from '../inference/synthetic-windows.js';
import './sta-crnn-layers.js';

/** The ONNX bytes of a tfjs STA-CRNN with its normalisation: input raw features [N,300,40,3], output posteriors [N,C]. */
export function exportOnnx(
  model: tfjs.LayersModel,
  meta: Pick<ModelMeta, 'name' | 'labels' | 'norm'> & Partial<ModelMeta>,
  fingerprint?: string,
): Uint8Array {
  const g = new GraphBuilder(meta.name);
  convertLayersModel(model, g, { inputName: INPUT_NAME, outputName: OUTPUT_NAME, norm: meta.norm });
  return g.encode({
    doc: `emostream model '${meta.name}': raw Log-Mel/Δ/ΔΔ windows [N, ${WINDOW_FRAMES}, ${N_MELS}, ${N_CHANNELS}] → posteriors over ${meta.labels.join(', ')}`,
    metadata: {
      name: meta.name,
      labels: JSON.stringify(meta.labels),
      ...(meta.arch ? { arch: JSON.stringify(meta.arch) } : {}),
      ...(fingerprint ? { [FINGERPRINT_KEY]: fingerprint } : {}),
    },
  });
}

export interface ParityResult {
  windows: number;
  maxAbsDiff: number;
}

/** Posteriors of the same raw windows from tfjs (reference) and from ONNX Runtime. */
async function bothPosteriors(
  model: tfjs.LayersModel,
  meta: Pick<ModelMeta, 'norm'>,
  onnx: Uint8Array,
  windows: readonly Float32Array[],
): Promise<{ ref: Float32Array; out: Float32Array }> {
  const n = windows.length;
  const raw = new Float32Array(n * WINDOW_SIZE);
  // The graph z-scores; per-window mean normalisation happens before it, as in the ONNX engine.
  windows.forEach((w, i) => raw.set(meanNormalized(w, meta.norm), i * WINDOW_SIZE));
  const normed = normalizeFrames(raw, meta.norm.mean, meta.norm.std);
  const ref = tf.tidy(
    () => (model.predict(tf.tensor4d(normed, [n, WINDOW_FRAMES, N_MELS, N_CHANNELS])) as tfjs.Tensor).dataSync() as Float32Array,
  );
  const session = await ort.InferenceSession.create(onnx, sessionOptions({ threads: 1 }));
  try {
    const out = (await session.run({ [INPUT_NAME]: new ort.Tensor('float32', raw, [n, WINDOW_FRAMES, N_MELS, N_CHANNELS]) }))[OUTPUT_NAME]
      .data as Float32Array;
    return { ref, out };
  } finally {
    await session.release();
  }
}

/** Max |ORT − tfjs| over the posteriors of the given raw windows. */
export async function checkParity(
  model: tfjs.LayersModel,
  meta: Pick<ModelMeta, 'norm'>,
  onnx: Uint8Array,
  windows: readonly Float32Array[],
): Promise<ParityResult> {
  const { ref, out } = await bothPosteriors(model, meta, onnx, windows);
  let maxAbsDiff = 0;
  for (let i = 0; i < ref.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(ref[i] - out[i]));
  if (out.length !== ref.length) maxAbsDiff = Infinity;
  return { windows: windows.length, maxAbsDiff };
}

export { syntheticWindows };

export interface Int8Check {
  windows: number;
  maxAbsDiff: number;
  argmaxAgreement: number;
  convs: number;
}
export interface ExportResult {
  path: string;
  bytes: number;
  parity?: ParityResult;
  int8?: Int8Check;
}

export interface ExportOptions {
  out?: string;
  verify?: boolean;
  /** Quantize the convolutions to int8 with windows of this audio for calibration; writes model.int8.onnx. */
  int8?: { calibrationDir: string; windows?: number };
}

/** Writes `<dir>/model.onnx` (model.int8.onnx with int8, or `out`) and checks it against tfjs. */
export async function exportModelDir(dir: string, opts: ExportOptions = {}): Promise<ExportResult> {
  await initTf();
  const { model, meta } = await loadModelDir(dir);
  try {
    const fingerprint = await sourceFingerprint(dir);
    let bytes = exportOnnx(model, meta, fingerprint);
    let int8: Int8Check | undefined;
    if (opts.int8) {
      // Calibrate on the first half of the windows, check on the other half.
      const windows = await calibrationWindows(opts.int8.calibrationDir, opts.int8.windows ?? 64);
      const half = Math.max(1, Math.floor(windows.length / 2));
      const { model: q, convs } = await quantizeConvs(decodeModel(bytes), windows.slice(0, half), [WINDOW_FRAMES, N_MELS, N_CHANNELS]);
      bytes = encodeModel(q);
      const held = windows.length > 1 ? windows.slice(half) : windows;
      int8 = { ...(await compareInt8(model, meta, bytes, held)), convs };
    }
    const path = opts.out ?? join(dir, opts.int8 ? 'model.int8.onnx' : 'model.onnx');
    const tmp = `${path}.tmp-${process.pid}`;
    await writeFile(tmp, bytes);
    await rename(tmp, path);
    const parity = opts.verify === false || opts.int8 ? undefined : await checkParity(model, meta, bytes, syntheticWindows(meta, 2));
    return { path, bytes: bytes.length, parity, int8 };
  } finally {
    model.dispose();
  }
}

/** How far int8 posteriors are from tfjs's float ones, and how often they pick the same class. */
async function compareInt8(
  model: tfjs.LayersModel,
  meta: Pick<ModelMeta, 'norm' | 'labels'>,
  onnx: Uint8Array,
  windows: readonly Float32Array[],
): Promise<Omit<Int8Check, 'convs'>> {
  const n = windows.length,
    k = meta.labels.length;
  const { ref, out } = await bothPosteriors(model, meta, onnx, windows);
  let maxAbsDiff = 0,
    agree = 0;
  const argmax = (a: Float32Array, i: number) => {
    let b = 0;
    for (let c = 1; c < k; c++) if (a[i * k + c] > a[i * k + b]) b = c;
    return b;
  };
  for (let i = 0; i < ref.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(ref[i] - out[i]));
  for (let i = 0; i < n; i++) if (argmax(ref, i) === argmax(out, i)) agree++;
  return { windows: n, maxAbsDiff, argmaxAgreement: agree / n };
}
