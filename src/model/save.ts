// Writing and reading a model directory: model.json + weights.bin (tfjs-layers format),
// meta.json (labels, architecture, feature config, normalisation). See docs/model.md.
import { mkdir, readFile, writeFile, rename } from 'node:fs/promises';
import { join, basename, resolve } from 'node:path';
import { tf } from './tf.js';
import { registerCustomLayers } from './layers.js';
import type { StaCrnnConfig } from './sta-crnn.js';
import { FRAME_SIZE, N_CHANNELS, N_MELS, SAMPLE_RATE, WINDOW_FRAMES } from '../dsp/types.js';
import { UserError } from '../cli/errors.js';

export interface FeatureConfig { sampleRate: number; nMels: number; channels: number; windowFrames: number }

export interface ModelMeta {
  name: string;
  labels: string[];
  arch: StaCrnnConfig;
  features: FeatureConfig;
  /** Per (mel, channel) statistics, index mel*3+channel; engines z-score raw windows with them. */
  norm: { mean: number[]; std: number[] };
  training?: Record<string, unknown>;
}

export const FEATURES: FeatureConfig = { sampleRate: SAMPLE_RATE, nMels: N_MELS, channels: N_CHANNELS, windowFrames: WINDOW_FRAMES };

/** Identity normalisation, for untrained models. */
export function identityNorm(): ModelMeta['norm'] {
  return { mean: new Array(FRAME_SIZE).fill(0), std: new Array(FRAME_SIZE).fill(1) };
}

async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/** Write model.json, weights.bin and meta.json into dir (created if needed). */
export async function saveModelDir(dir: string, model: tf.LayersModel, meta: ModelMeta): Promise<void> {
  await mkdir(dir, { recursive: true });
  let artifacts: tf.io.ModelArtifacts | null = null;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  const a = artifacts as unknown as tf.io.ModelArtifacts;
  const data = a.weightData;
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(tf.io.concatenateArrayBuffers(data as ArrayBuffer[]));
  const modelJson = {
    format: 'layers-model',
    generatedBy: a.generatedBy,
    convertedBy: null,
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
  };
  await writeAtomic(join(dir, 'weights.bin'), bytes);
  await writeAtomic(join(dir, 'model.json'), JSON.stringify(modelJson));
  await writeAtomic(join(dir, 'meta.json'), JSON.stringify(meta, null, 1) + '\n');
}

export async function readMeta(dir: string): Promise<ModelMeta> {
  let text: string;
  try {
    text = await readFile(join(dir, 'meta.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError('model_not_found', `no model at '${dir}' (expected ${join(dir, 'meta.json')})`);
    }
    throw err;
  }
  let meta: ModelMeta;
  try {
    meta = JSON.parse(text) as ModelMeta;
  } catch {
    throw new UserError('model_invalid', `${join(dir, 'meta.json')} is not valid JSON`);
  }
  if (!Array.isArray(meta.labels) || meta.labels.length < 2) throw new UserError('model_invalid', `${join(dir, 'meta.json')}: 'labels' must list at least two classes`);
  if (!meta.norm || meta.norm.mean?.length !== FRAME_SIZE || meta.norm.std?.length !== FRAME_SIZE) {
    throw new UserError('model_invalid', `${join(dir, 'meta.json')}: 'norm.mean' and 'norm.std' must have ${FRAME_SIZE} values`);
  }
  const f = meta.features;
  if (!f || f.sampleRate !== SAMPLE_RATE || f.nMels !== N_MELS || f.channels !== N_CHANNELS || f.windowFrames !== WINDOW_FRAMES) {
    throw new UserError('model_invalid', `${join(dir, 'meta.json')}: feature config ${JSON.stringify(f)} does not match this build's front end (${SAMPLE_RATE} Hz, ${N_MELS} mels × ${N_CHANNELS} channels, ${WINDOW_FRAMES}-frame windows)`);
  }
  return meta;
}

/** Load the tfjs model of a model directory (custom layers registered). */
export async function loadModelDir(dir: string): Promise<{ model: tf.LayersModel; meta: ModelMeta }> {
  registerCustomLayers();
  const meta = await readMeta(dir);
  let json: { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  try {
    json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
  } catch (err) {
    throw new UserError('model_invalid', `cannot read ${join(dir, 'model.json')}: ${(err as Error).message}`);
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      const b = await readFile(join(dir, p));
      buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
    }
  }
  const weightData = buffers.length === 1 ? buffers[0] : tf.io.concatenateArrayBuffers(buffers);
  const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }));
  return { model, meta };
}

export function modelName(dir: string): string {
  return basename(resolve(dir));
}
