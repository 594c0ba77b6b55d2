// The model directory format, owned here and nowhere else: its file names, meta.json's
// contents (labels, architecture, feature configuration, normalisation) and their validation.
// No tfjs import: the ONNX engine reads a directory without loading a training framework.
// docs/model.md describes the format.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { FRAME_SIZE, N_CHANNELS, N_MELS, SAMPLE_RATE, WINDOW_FRAMES } from './dsp/types.js';
import { UserError } from './errors.js';
import type { StaCrnnConfig } from './model-config.js';
import type { Normalization } from './dsp/normalize.js';

/** The files of a model directory. */
export const MODEL_FILES = {
  meta: 'meta.json',
  /** tfjs-layers topology and weights manifest. */
  topology: 'model.json',
  weights: 'weights.bin',
  onnx: 'model.onnx',
  onnxInt8: 'model.int8.onnx',
} as const;

export interface FeatureConfig {
  sampleRate: number;
  nMels: number;
  channels: number;
  windowFrames: number;
}

export interface ModelMeta {
  name: string;
  labels: string[];
  arch: StaCrnnConfig;
  features: FeatureConfig;
  /** Input normalisation: z-scoring statistics per (mel, channel), and whether the log-mel
   *  channel is mean-normalised per window first (src/dsp/normalize.ts). */
  norm: Normalization;
  training?: Record<string, unknown>;
}

/** This build's front end, as meta.json records it. */
export const FEATURES: FeatureConfig = { sampleRate: SAMPLE_RATE, nMels: N_MELS, channels: N_CHANNELS, windowFrames: WINDOW_FRAMES };

/** Identity normalisation, for untrained models. */
export function identityNorm(): ModelMeta['norm'] {
  return { mean: new Array(FRAME_SIZE).fill(0), std: new Array(FRAME_SIZE).fill(1) };
}

export function modelPath(dir: string, file: keyof typeof MODEL_FILES): string {
  return join(dir, MODEL_FILES[file]);
}

export function modelName(dir: string): string {
  return basename(resolve(dir));
}

/** Writes through a temporary file and a rename, so a reader never sees half a file. */
export async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

export async function writeMeta(dir: string, meta: ModelMeta): Promise<void> {
  await writeAtomic(modelPath(dir, 'meta'), JSON.stringify(meta, null, 1) + '\n');
}

/** meta.json, validated against this build's front end. */
export async function readMeta(dir: string): Promise<ModelMeta> {
  const path = modelPath(dir, 'meta');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError('model_not_found', `no model at '${dir}' (expected ${path})`);
    }
    throw err;
  }
  let meta: ModelMeta;
  try {
    meta = JSON.parse(text) as ModelMeta;
  } catch {
    throw new UserError('model_invalid', `${path} is not valid JSON`);
  }
  if (!meta || typeof meta !== 'object') throw new UserError('model_invalid', `${path} must hold a JSON object`);
  if (!Array.isArray(meta.labels) || meta.labels.length < 2 || !meta.labels.every((l) => typeof l === 'string')) {
    throw new UserError('model_invalid', `${path}: 'labels' must list at least two classes`);
  }
  if (!meta.norm || meta.norm.mean?.length !== FRAME_SIZE || meta.norm.std?.length !== FRAME_SIZE) {
    throw new UserError('model_invalid', `${path}: 'norm.mean' and 'norm.std' must have ${FRAME_SIZE} values`);
  }
  if (meta.norm.windowMean !== undefined && typeof meta.norm.windowMean !== 'boolean') {
    throw new UserError('model_invalid', `${path}: 'norm.windowMean' must be true or false`);
  }
  const f = meta.features;
  if (!f || f.sampleRate !== SAMPLE_RATE || f.nMels !== N_MELS || f.channels !== N_CHANNELS || f.windowFrames !== WINDOW_FRAMES) {
    throw new UserError(
      'model_invalid',
      `${path}: feature config ${JSON.stringify(f)} does not match this build's front end (${SAMPLE_RATE} Hz, ${N_MELS} mels × ${N_CHANNELS} channels, ${WINDOW_FRAMES}-frame windows)`,
    );
  }
  return meta;
}
