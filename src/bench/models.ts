// The models the benchmarks run: the shipped model as is, and an untrained paper-width
// (width 1.0) STA-CRNN for speed, built with the model's buildModel and exported to ONNX once
// (cached under runs/, not committed: its speed does not depend on its weights). Each can be
// run in float32 or int8 (export-onnx --int8, calibrated on Emo-DB speech).
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMODB_DIR } from './corpus.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const SHIPPED_MODEL = join(REPO, 'models/basic-4');

export interface BenchModel {
  /** e.g. "paper width 1.0 (untrained) int8" */
  label: string;
  /** The float model this one is (or is quantized from): rows compare with its tfjs figures. */
  base: string;
  /** A model directory whose model.onnx is what the server serves with --engine onnx. */
  dir: string;
  width: number;
  trained: boolean;
  precision: 'fp32' | 'int8';
}

/** Builds (once) runs/bench-models/paper-width-4: width 1.0, 4 classes, random weights. */
async function ensurePaperWidth(dir: string): Promise<void> {
  if (existsSync(join(dir, 'model.onnx'))) return;
  const { initTf } = await import('../model/tf.js');
  const { buildModel, resolveConfig } = await import('../model/sta-crnn.js');
  const { saveModelDir } = await import('../model/save.js');
  const { FEATURES, identityNorm } = await import('../model-dir.js');
  const { exportModelDir } = await import('../export/export.js');
  await initTf();
  const config = resolveConfig({ width: 1, numClasses: 4 });
  const model = buildModel(config);
  await saveModelDir(dir, model, {
    name: 'paper-width-4',
    labels: ['angry', 'happy', 'sad', 'neutral'],
    arch: config,
    features: FEATURES,
    norm: identityNorm(),
  });
  model.dispose();
  await exportModelDir(dir, { verify: false });
}

/**
 * The int8 variant of a model directory, as a directory of its own whose model.onnx is the
 * int8 export (same weights, so the engine's freshness check holds), so a server started with
 * --engine onnx serves it unchanged.
 */
async function int8Copy(src: string, dst: string): Promise<void> {
  if (existsSync(join(dst, 'model.onnx'))) return;
  const { exportModelDir } = await import('../export/export.js');
  mkdirSync(dst, { recursive: true });
  for (const f of ['model.json', 'weights.bin', 'meta.json']) copyFileSync(join(src, f), join(dst, f));
  await exportModelDir(dst, { int8: { calibrationDir: EMODB_DIR }, out: join(dst, 'model.onnx') });
}

export async function paperWidthModel(precision: 'fp32' | 'int8' = 'fp32', root = join(REPO, 'runs/bench-models')): Promise<BenchModel> {
  const dir = join(root, 'paper-width-4');
  await ensurePaperWidth(dir);
  const base = 'paper width 1.0 (untrained)';
  if (precision === 'fp32') return { label: base, base, dir, width: 1, trained: false, precision };
  const q = join(root, 'paper-width-4-int8');
  await int8Copy(dir, q);
  return { label: `${base} int8`, base, dir: q, width: 1, trained: false, precision };
}

export async function shippedModel(dir = SHIPPED_MODEL, precision: 'fp32' | 'int8' = 'fp32'): Promise<BenchModel> {
  const { readFile } = await import('node:fs/promises');
  const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as {
    name: string;
    arch?: { width?: number };
    training?: unknown;
  };
  const base = `shipped ${meta.name} (width ${meta.arch?.width ?? 1})`;
  const info = { base, width: meta.arch?.width ?? 1, trained: meta.training !== undefined, precision };
  if (precision === 'fp32') return { ...info, label: base, dir };
  // Rebuilt per run: the shipped weights change as the model is retrained.
  const q = join(REPO, 'runs/bench-models', `${meta.name}-int8`);
  const { rmSync } = await import('node:fs');
  rmSync(q, { recursive: true, force: true });
  await int8Copy(dir, q);
  return { ...info, label: `${base} int8`, dir: q };
}
