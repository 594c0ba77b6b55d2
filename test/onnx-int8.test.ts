// int8 export: the convolutions become QDQ int8 with ranges calibrated on real Emo-DB speech,
// posteriors stay close to the float model's, and the engine serves it as 'onnx-int8'.
import { test } from 'uvu';
import { dataTest, sharedPath } from './helpers/shared-data.js';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildModel, resolveConfig } from '../src/model/sta-crnn.js';
import { initTf } from '../src/model/tf.js';
import { saveModelDir } from '../src/model/save.js';
import { FEATURES, identityNorm } from '../src/model-dir.js';
import { loadEngine } from '../src/inference/load-engine.js';
import { exportModelDir } from '../src/export/export.js';
import { decodeModel } from '../src/export/proto.js';
import { calibrationWindows } from '../src/export/calibration.js';

const EMODB = sharedPath('emodb/wav/');

dataTest(test, 'int8 export: QDQ convolutions, close posteriors, served as onnx-int8', [EMODB], async () => {
  await initTf();
  const tmp = mkdtempSync(join(tmpdir(), 'emostream-int8-'));
  try {
    const dir = join(tmp, 'tiny');
    const config = resolveConfig({ width: 0.125, numClasses: 4 });
    const model = buildModel(config);
    await saveModelDir(dir, model, {
      name: 'tiny',
      labels: ['angry', 'happy', 'sad', 'neutral'],
      arch: config,
      features: FEATURES,
      norm: identityNorm(),
    });
    model.dispose();
    await exportModelDir(dir);
    const r = await exportModelDir(dir, { int8: { calibrationDir: EMODB, windows: 16 } });
    assert.is(r.path, join(dir, 'model.int8.onnx'));
    assert.is(r.int8!.convs, 6);
    assert.is(r.int8!.windows, 8);
    assert.ok(r.int8!.maxAbsDiff < 0.05, `max |Δ| ${r.int8!.maxAbsDiff}`);

    const m = decodeModel(readFileSync(r.path));
    const ops = m.graph.node.map((n) => n.op_type);
    assert.is(ops.filter((o) => o === 'Conv').length, 7); // six quantized + the spatial-attention conv in float
    assert.ok(ops.filter((o) => o === 'QuantizeLinear').length >= 6);
    assert.not.ok(ops.includes('Relu'), 'ReLUs are folded into the uint8 output ranges');
    const int8Weights = m.graph.initializer.filter((t) => t.data_type === 3 && t.dims.length === 4);
    assert.is(int8Weights.length, 6);

    const fp = await loadEngine(dir, { kind: 'onnx' });
    const q = await loadEngine(dir, { kind: 'onnx-int8' });
    try {
      assert.match(q.backend, /int8/);
      assert.not.match(fp.backend, /int8/);
      const windows = await calibrationWindows(EMODB, 3);
      const [a, b] = [await fp.infer(windows), await q.infer(windows)];
      for (let i = 0; i < windows.length; i++) {
        assert.ok(Math.abs(b[i].reduce((s, v) => s + v, 0) - 1) < 1e-5);
        for (let k = 0; k < 4; k++) assert.ok(Math.abs(a[i][k] - b[i][k]) < 0.05);
      }
    } finally {
      await Promise.all([fp.dispose(), q.dispose()]);
    }
    const missing = await loadEngine(join(tmp, 'nope'), { kind: 'onnx-int8' }).then(
      () => null,
      (e) => e,
    );
    assert.ok(missing?.code === 'model_not_found');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test.run();
