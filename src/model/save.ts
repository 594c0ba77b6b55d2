// A tfjs model in and out of a model directory (src/model-dir.ts owns the format and meta.json):
// model.json + weights.bin in the tfjs-layers format.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf } from './tf.js';
import { registerCustomLayers } from './layers.js';
import { UserError } from '../errors.js';
import { MODEL_FILES, modelPath, readMeta, writeAtomic, writeMeta, type ModelMeta } from '../model-dir.js';

/** Write model.json, weights.bin and meta.json into dir (created if needed). */
export async function saveModelDir(dir: string, model: tf.LayersModel, meta: ModelMeta): Promise<void> {
  await mkdir(dir, { recursive: true });
  let artifacts: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const a = artifacts as unknown as tf.io.ModelArtifacts;
  const data = a.weightData;
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(tf.io.concatenateArrayBuffers(data as ArrayBuffer[]));
  const modelJson = {
    format: 'layers-model',
    generatedBy: a.generatedBy,
    convertedBy: null,
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: [MODEL_FILES.weights], weights: a.weightSpecs }],
  };
  await writeAtomic(modelPath(dir, 'weights'), bytes);
  await writeAtomic(modelPath(dir, 'topology'), JSON.stringify(modelJson));
  await writeMeta(dir, meta);
}

/** Load the tfjs model of a model directory (custom layers registered). */
export async function loadModelDir(dir: string): Promise<{ model: tf.LayersModel; meta: ModelMeta }> {
  registerCustomLayers();
  const meta = await readMeta(dir);
  let json: { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  try {
    json = JSON.parse(await readFile(modelPath(dir, 'topology'), 'utf8'));
  } catch (err) {
    throw new UserError('model_invalid', `cannot read ${modelPath(dir, 'topology')}: ${(err as Error).message}`);
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
