// The ONNX Runtime engine on a model directory: probabilities, dynamic batch, worker and
// in-thread runs agree with tfjs, stale exports are refused, bad input gets coded errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildModel } from '../src/model/sta-crnn.js';
import { initTf } from '../src/model/tf.js';
import { saveModelDir } from '../src/model/save.js';
import { FEATURES } from '../src/model-dir.js';
import { loadEngine } from '../src/inference/load-engine.js';
import { OnnxEngine } from '../src/inference/onnx-engine.js';
import { exportModelDir, syntheticWindows } from '../src/export/export.js';
import { UserError } from '../src/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'emostream-onnx-engine-'));
const dir = join(tmp, 'tiny-4');
const labels = ['angry', 'happy', 'sad', 'neutral'];
// Non-trivial normalisation so a missing or wrong fold shows.
const norm = {
  mean: Array.from({ length: 120 }, (_, i) => (i % 3 === 0 ? -8 + i / 40 : 0)),
  std: Array.from({ length: 120 }, (_, i) => (i % 3 === 0 ? 3 : 0.5)),
};

test.before(async () => {
  await initTf();
  const model = buildModel({ width: 0.0625, numClasses: 4 });
  await saveModelDir(dir, model, {
    name: 'tiny-4',
    labels,
    arch: { ...(await import('../src/model/sta-crnn.js')).resolveConfig({ width: 0.0625, numClasses: 4 }) },
    features: FEATURES,
    norm,
  });
  model.dispose();
  const r = await exportModelDir(dir);
  assert.ok(r.parity!.maxAbsDiff <= 1e-4);
});
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const windows = () => syntheticWindows({ norm }, 3, 42);

test('posteriors are probabilities, one per window, in the label order', async () => {
  const e = await OnnxEngine.load(dir, { threads: 1 });
  try {
    assert.equal([...e.labels], labels);
    assert.is(e.model, 'tiny-4');
    assert.match(e.backend, /^onnxruntime-cpu\(1 thread\)$/);
    const out = await e.infer(windows());
    assert.is(out.length, 3);
    for (const p of out) {
      assert.is(p.length, 4);
      assert.ok(p.every((v) => v >= 0 && v <= 1));
      assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    }
    assert.equal(await e.infer([]), []);
  } finally {
    await e.dispose();
  }
});

test('batch dimension is dynamic: a batch of 3 equals three single windows; worker = in-thread = tfjs', async () => {
  const ws = windows();
  const worker = await OnnxEngine.load(dir, { threads: 2 });
  const inThread = await OnnxEngine.load(dir, { threads: 1, worker: false });
  const tfjs = await loadEngine(dir, { kind: 'tfjs' });
  try {
    const batched = await worker.infer(ws);
    const singles = await Promise.all(ws.map(async (w) => (await inThread.infer([w]))[0]));
    const ref = await tfjs.infer(ws);
    for (let i = 0; i < ws.length; i++) {
      for (let k = 0; k < 4; k++) {
        assert.ok(Math.abs(batched[i][k] - singles[i][k]) < 1e-5);
        assert.ok(Math.abs(batched[i][k] - ref[i][k]) < 1e-4, `window ${i} class ${k}: ${batched[i][k]} vs tfjs ${ref[i][k]}`);
      }
    }
  } finally {
    await Promise.all([worker.dispose(), inThread.dispose(), tfjs.dispose()]);
  }
});

test('loadEngine picks ONNX Runtime when model.onnx exists, tfjs when asked', async () => {
  const auto = await loadEngine(dir);
  const tfjs = await loadEngine(dir, { kind: 'tfjs' });
  try {
    assert.match(auto.backend, /^onnxruntime-cpu/);
    assert.match(tfjs.backend, /^tfjs/);
  } finally {
    await Promise.all([auto.dispose(), tfjs.dispose()]);
  }
});

test('a model.onnx exported from other weights is refused (model_stale); auto mode falls back to tfjs', async () => {
  const stale = join(tmp, 'stale');
  cpSync(dir, stale, { recursive: true });
  const meta = JSON.parse(readFileSync(join(stale, 'meta.json'), 'utf8'));
  meta.norm.mean[0] += 1;
  writeFileSync(join(stale, 'meta.json'), JSON.stringify(meta));
  const err = await OnnxEngine.load(stale).then(
    () => null,
    (e) => e,
  );
  assert.instance(err, UserError);
  assert.is(err.code, 'model_stale');
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  const e = await loadEngine(stale);
  await new Promise((r) => setImmediate(r));
  process.off('warning', onWarning);
  assert.match(e.backend, /^tfjs/);
  assert.ok(warnings.some((m) => m.includes('export-onnx')));
  await e.dispose();
});

test('coded errors: missing model.onnx, wrong window size, CUDA provider not installed', async () => {
  const bare = join(tmp, 'bare');
  cpSync(dir, bare, { recursive: true });
  rmSync(join(bare, 'model.onnx'));
  const missing = await OnnxEngine.load(bare).then(
    () => null,
    (e) => e,
  );
  assert.is(missing?.code, 'model_not_found');
  const e = await OnnxEngine.load(dir, { worker: false });
  const bad = await e.infer([new Float32Array(100)]).then(
    () => null,
    (x) => x,
  );
  assert.is(bad?.code, 'bad_window');
  await e.dispose();
  const cuda = await loadEngine(dir, { kind: 'onnx-cuda' }).then(
    (x) => x,
    (x) => x,
  );
  // On a machine with the CUDA build this loads; on the CPU-only npm build it must say why.
  if (cuda instanceof Error) assert.is((cuda as UserError).code, 'provider_unavailable');
  else await cuda.dispose();
});

test('the shipped models carry an up-to-date model.onnx', async () => {
  const models = fileURLToPath(new URL('../models/', import.meta.url));
  const { readdirSync, existsSync } = await import('node:fs');
  const dirs = readdirSync(models).filter((d) => existsSync(join(models, d, 'meta.json')));
  assert.ok(dirs.length > 0);
  for (const d of dirs) {
    // Each shipped model has model.onnx; model.int8.onnx where present must be current too.
    const precisions = existsSync(join(models, d, 'model.int8.onnx')) ? (['fp32', 'int8'] as const) : (['fp32'] as const);
    for (const precision of precisions) {
      const e = await OnnxEngine.load(join(models, d), { worker: false, precision });
      const [p] = await e.infer(syntheticWindows(JSON.parse(readFileSync(join(models, d, 'meta.json'), 'utf8')), 1));
      assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-5, `${d} ${precision}`);
      await e.dispose();
    }
  }
});

test.run();
