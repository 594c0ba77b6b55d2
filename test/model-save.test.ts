// A model directory round-trips: save → load gives identical posteriors, the Engine applies
// the stored normalisation and returns distributions, and broken directories fail clearly.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initTf, tf } from '../src/model/tf.js';
import { buildModel, resolveConfig } from '../src/model/sta-crnn.js';
import { saveModelDir, loadModelDir } from '../src/model/save.js';
import { FEATURES, type ModelMeta } from '../src/model-dir.js';
import { loadEngine } from '../src/inference/load-engine.js';
import { normalizeFrames } from '../src/dsp/normalize.js';
import { UserError } from '../src/errors.js';

const t = suite('model-save');
let dir = '';
const labels = ['angry', 'happy', 'sad', 'neutral'];
const arch = resolveConfig({ width: 0.0625, numClasses: 4, seed: 3 });
const norm = {
  mean: Array.from({ length: 120 }, (_, i) => (i % 3 === 0 ? -5 + i / 40 : 0.01 * i)),
  std: Array.from({ length: 120 }, (_, i) => 0.5 + (i % 7) / 10),
};

function window(seed: number): Float32Array {
  return tf.tidy(() => tf.randomNormal([36000], -3, 2, 'float32', seed).dataSync() as Float32Array);
}

t.before(async () => {
  await initTf();
  dir = await mkdtemp(join(tmpdir(), 'emostream-model-'));
});
t.after(async () => {
  await rm(dir, { recursive: true, force: true });
});

t('save → load gives identical posteriors (custom layers included)', async () => {
  const m = buildModel(arch);
  const meta: ModelMeta = { name: 'tiny', labels, arch, features: FEATURES, norm };
  await saveModelDir(join(dir, 'tiny'), m, meta);
  const x = tf.tensor4d(normalizeFrames(window(1), norm.mean, norm.std), [1, 300, 40, 3]);
  const before = (m.predict(x) as tf.Tensor).dataSync();
  const { model, meta: back } = await loadModelDir(join(dir, 'tiny'));
  const after = (model.predict(x) as tf.Tensor).dataSync();
  assert.equal(Array.from(after), Array.from(before));
  assert.equal(back.labels, labels);
  assert.equal(back.arch, arch);
  assert.ok(model.getLayer('spatial_attention') && model.getLayer('temporal_attention'));
  tf.dispose([x]);
  m.dispose();
  model.dispose();
});

t('the Engine normalises raw windows itself and returns one distribution per window', async () => {
  const engine = await loadEngine(join(dir, 'tiny'));
  assert.is(engine.model, 'tiny');
  assert.equal([...engine.labels], labels);
  assert.ok(engine.backend.startsWith('tfjs'));
  const raw = [window(1), window(2), window(3)];
  const post = await engine.infer(raw);
  assert.is(post.length, 3);
  for (const p of post) {
    assert.is(p.length, 4);
    assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    assert.ok(p.every((v) => v >= 0 && v <= 1));
  }
  // Same as normalising by hand and running the model.
  const { model } = await loadModelDir(join(dir, 'tiny'));
  const direct = (model.predict(tf.tensor4d(normalizeFrames(raw[0], norm.mean, norm.std), [1, 300, 40, 3])) as tf.Tensor).dataSync();
  assert.ok(Array.from(direct).every((v, i) => Math.abs(v - post[0][i]) < 1e-6));
  assert.equal(await engine.infer([]), []);
  const bad = await engine.infer([new Float32Array(10)]).then(
    () => null,
    (e) => e,
  );
  assert.instance(bad, UserError);
  assert.is(bad.code, 'bad_window');
  model.dispose();
  await engine.dispose();
});

t('missing or inconsistent model directories fail with coded errors', async () => {
  const err = await loadEngine(join(dir, 'nope')).catch((e) => e);
  assert.instance(err, UserError);
  assert.is(err.code, 'model_not_found');
  const metaPath = join(dir, 'tiny', 'meta.json');
  const good = await readFile(metaPath, 'utf8');
  await writeFile(metaPath, JSON.stringify({ ...JSON.parse(good), labels: ['a', 'b', 'c'] }));
  const e2 = await loadEngine(join(dir, 'tiny')).catch((e) => e);
  assert.is(e2.code, 'model_invalid');
  assert.match(e2.message, /4 outputs but meta.json lists 3 labels/);
  await writeFile(metaPath, JSON.stringify({ ...JSON.parse(good), features: { ...FEATURES, nMels: 64 } }));
  const e3 = await loadEngine(join(dir, 'tiny')).catch((e) => e);
  assert.is(e3.code, 'model_invalid');
  await writeFile(metaPath, good);
});

t('the shipped models load and answer with their labels', async () => {
  for (const [name, k] of [
    ['basic-4', 4],
    ['emodb-7', 7],
  ] as const) {
    const path = new URL(`../models/${name}`, import.meta.url).pathname;
    const engine = await loadEngine(path).catch((e) => e);
    assert.not.instance(engine, Error, String(engine));
    assert.is(engine.labels.length, k);
    const [p] = await engine.infer([window(9)]);
    assert.ok(Math.abs(p.reduce((a: number, b: number) => a + b, 0) - 1) < 1e-5);
    await engine.dispose();
  }
});

t.run();
