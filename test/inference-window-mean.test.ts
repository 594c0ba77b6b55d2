// A model trained with per-window mean normalisation (norm.windowMean in meta.json) is served
// the same way by both engines: the ONNX engine applies it before the graph, the tfjs engine
// before z-scoring, and a gain change (a constant on the log-mel channel) does not move either.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WINDOW_SIZE, FRAME_SIZE, N_CHANNELS } from '../src/dsp/types.js';
import { exportModelDir } from '../src/export/export.js';
import { OnnxEngine } from '../src/inference/onnx-engine.js';
import { TfjsEngine } from '../src/inference/tfjs-engine.js';
import { FEATURES } from '../src/model-dir.js';
import { saveModelDir } from '../src/model/save.js';
import { buildModel, resolveConfig } from '../src/model/sta-crnn.js';
import { initTf } from '../src/model/tf.js';
import { rng } from '../src/train/protocols.js';

test('both engines apply norm.windowMean, agree, and ignore a gain offset', async () => {
  await initTf();
  const tmp = mkdtempSync(join(tmpdir(), 'emostream-wm-'));
  try {
    const dir = join(tmp, 'wm');
    const model = buildModel({ width: 0.0625, numClasses: 4, seed: 2 });
    const norm = {
      mean: Array.from({ length: FRAME_SIZE }, (_, i) => (i % 3 === 0 ? 0.5 : 0)),
      std: Array.from({ length: FRAME_SIZE }, () => 1.5),
      windowMean: true,
    };
    const arch = resolveConfig({ width: 0.0625, numClasses: 4, seed: 2 });
    await saveModelDir(dir, model, { name: 'wm', labels: ['a', 'b', 'c', 'd'], arch, features: FEATURES, norm });
    model.dispose();
    assert.ok((await exportModelDir(dir)).parity!.maxAbsDiff <= 1e-4, 'export parity with mean normalisation');
    const r = rng(4);
    const w = Float32Array.from({ length: WINDOW_SIZE }, () => r() * 4 - 2);
    w.fill(0, 200 * FRAME_SIZE); // 200 real frames, then padding
    const louder = Float32Array.from(w);
    for (let i = 0; i < 200 * FRAME_SIZE; i += N_CHANNELS) louder[i] += 3; // +3 on every log-mel value: a gain
    const onnx = await OnnxEngine.load(dir, { worker: false });
    const tfjs = await TfjsEngine.load(dir);
    try {
      const [o1, o2] = await onnx.infer([w, louder]);
      const [t1, t2] = await tfjs.infer([w, louder]);
      for (let c = 0; c < 4; c++) {
        assert.ok(Math.abs(o1[c] - t1[c]) < 1e-4, 'engines agree');
        assert.ok(Math.abs(o1[c] - o2[c]) < 1e-5 && Math.abs(t1[c] - t2[c]) < 1e-5, 'gain-invariant');
      }
    } finally {
      await onnx.dispose();
      await tfjs.dispose();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test.run();
