// The models the benchmarks run: the shipped model as is, and an untrained paper-width
// (width 1.0) STA-CRNN for speed, built with the model's buildModel and exported to ONNX once
// (cached under runs/, not committed: its speed does not depend on its weights).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../', import.meta.url));
export const SHIPPED_MODEL = join(REPO, 'models/basic-4');

export interface BenchModel {
  /** "paper-width (untrained)" or the shipped model's name. */
  label: string;
  dir: string;
  width: number;
  trained: boolean;
}

/** Builds (once) runs/bench-models/paper-width-4: width 1.0, 4 classes, random weights. */
export async function paperWidthModel(root = join(REPO, 'runs/bench-models')): Promise<BenchModel> {
  const dir = join(root, 'paper-width-4');
  if (!existsSync(join(dir, 'model.onnx'))) {
    const { initTf } = await import('../src/model/tf.js');
    const { buildModel, resolveConfig } = await import('../src/model/sta-crnn.js');
    const { saveModelDir, FEATURES, identityNorm } = await import('../src/model/save.js');
    const { exportModelDir } = await import('../src/onnx/export.js');
    await initTf();
    const config = resolveConfig({ width: 1, numClasses: 4 });
    const model = buildModel(config);
    await saveModelDir(dir, model, { name: 'paper-width-4', labels: ['angry', 'happy', 'sad', 'neutral'], arch: config, features: FEATURES, norm: identityNorm() });
    model.dispose();
    await exportModelDir(dir, { verify: false });
  }
  return { label: 'paper width 1.0 (untrained)', dir, width: 1, trained: false };
}

export async function shippedModel(dir = SHIPPED_MODEL): Promise<BenchModel> {
  const { readFile } = await import('node:fs/promises');
  const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as { name: string; arch?: { width?: number }; training?: unknown };
  return { label: `shipped ${meta.name}`, dir, width: meta.arch?.width ?? 1, trained: meta.training !== undefined };
}
