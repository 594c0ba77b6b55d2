// The ONNX exporter: every STA-CRNN variant, exported and run by ONNX Runtime, gives tfjs's
// posteriors (≤ 1e-4) on windows of real Emo-DB speech; the file is well-formed ONNX.
import { test } from 'uvu';
import { dataTest, sharedPath } from './helpers/shared-data.js';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tf, initTf } from '../src/model/tf.js';
import { buildModel, type StaCrnnConfig } from '../src/model/sta-crnn.js';
import { loadAudio16k } from '../src/dsp/load.js';
import { computeFeatures } from '../src/dsp/features.js';
import { FRAME_SIZE, WINDOW_FRAMES } from '../src/dsp/types.js';
import { checkParity, exportOnnx } from '../src/export/export.js';
import { decodeModel } from '../src/export/proto.js';
import { lstmBiasToOnnx, lstmKernelToOnnx } from '../src/export/keras-to-onnx.js';

const EMODB = sharedPath('emodb/wav/');
const WINDOW = WINDOW_FRAMES * FRAME_SIZE;

/** Three real windows: two utterances alone (zero-padded, as short input is) and two played
 *  back to back (a full window, as a live stream produces). */
async function realWindows(): Promise<{ windows: Float32Array[]; norm: { mean: number[]; std: number[] } }> {
  const files = readdirSync(EMODB)
    .filter((f) => f.endsWith('.wav'))
    .sort();
  const pick = [files[3], files[180], files[360], files[520]].map((f) => loadAudio16k(EMODB + f));
  const [a, b, c, d] = await Promise.all(pick);
  const windows: Float32Array[] = [];
  for (const signal of [a, b]) {
    const { frames, data } = computeFeatures(signal);
    const w = new Float32Array(WINDOW);
    w.set(data.subarray(0, Math.min(frames, WINDOW_FRAMES) * FRAME_SIZE));
    windows.push(w);
  }
  const joined = new Float32Array(c.length + d.length);
  joined.set(c);
  joined.set(d, c.length);
  const { frames, data } = computeFeatures(joined);
  assert.ok(frames >= WINDOW_FRAMES, `${frames} frames`);
  windows.push(data.slice(0, WINDOW));
  // Normalisation statistics of these windows, as the trainer would compute them.
  const mean = new Array(FRAME_SIZE).fill(0),
    sq = new Array(FRAME_SIZE).fill(0);
  const n = windows.length * WINDOW_FRAMES;
  for (const w of windows)
    for (let i = 0; i < WINDOW; i++) {
      mean[i % FRAME_SIZE] += w[i] / n;
      sq[i % FRAME_SIZE] += (w[i] * w[i]) / n;
    }
  const std = sq.map((s, i) => Math.sqrt(Math.max(s - mean[i] ** 2, 1e-6)));
  return { windows, norm: { mean, std } };
}

/** Give BatchNorm non-trivial statistics, as after training (fresh ones are 0/1). */
function perturbBatchNorm(model: tf.LayersModel): void {
  let seed = 7;
  for (const l of model.layers) {
    if (l.getClassName() !== 'BatchNormalization') continue;
    l.setWeights(l.getWeights().map((w, i) => tf.randomUniform(w.shape, i === 3 ? 0.5 : -0.5, 1.5, 'float32', seed++)));
  }
}

test('LSTM weights: Keras gate order i,f,c,o becomes ONNX i,o,f,c; bias goes to Wb, Rb is zero', () => {
  const units = 2,
    input = 1;
  // Column j of gate g holds 10·g + j.
  const k = Float32Array.from({ length: 4 * units }, (_, c) => 10 * Math.floor(c / units) + (c % units));
  const w = lstmKernelToOnnx(k, input, units);
  assert.equal(Array.from(w), [0, 1, 30, 31, 10, 11, 20, 21]);
  const b = lstmBiasToOnnx(k, units);
  assert.equal(Array.from(b), [0, 1, 30, 31, 10, 11, 20, 21, 0, 0, 0, 0, 0, 0, 0, 0]);
});

test('exported file is ONNX IR 8 / opset 17 with a dynamic batch, BatchNorm folded, the BiLSTM as LSTM', async () => {
  await initTf();
  const model = buildModel({ width: 0.0625, numClasses: 4 });
  const meta = { name: 't', labels: ['a', 'b', 'c', 'd'], norm: { mean: new Array(120).fill(0), std: new Array(120).fill(1) } };
  const m = decodeModel(exportOnnx(model, meta, 'abc'));
  model.dispose();
  assert.is(m.ir_version, 8);
  assert.equal(
    m.opset_import.map((o) => [o.domain ?? '', o.version]),
    [['', 17]],
  );
  const dims = m.graph.input[0].type.tensor_type.shape.dim;
  assert.equal(
    dims.map((d) => d.dim_param ?? d.dim_value),
    ['N', 300, 40, 3],
  );
  assert.is(m.graph.input[0].name, 'features');
  assert.is(m.graph.output[0].name, 'posteriors');
  const ops = new Set(m.graph.node.map((n) => n.op_type));
  for (const op of ['Conv', 'MaxPool', 'LSTM', 'Gemm', 'Softmax', 'Sigmoid']) assert.ok(ops.has(op), op);
  assert.not.ok(ops.has('BatchNormalization'));
  const lstm = m.graph.node.find((n) => n.op_type === 'LSTM')!;
  assert.is(new TextDecoder().decode(lstm.attribute.find((a) => a.name === 'direction')!.s), 'bidirectional');
  assert.equal(Object.fromEntries(m.metadata_props.map((p) => [p.key, p.value]))['emostream.source_sha256'], 'abc');
});

const variants: [string, Partial<StaCrnnConfig>][] = [
  ['STA-CRNN (AC6)', { variant: 'sta-crnn', attentionPosition: 6 }],
  ['STA-CRNN (AC1)', { variant: 'sta-crnn', attentionPosition: 1 }],
  ['STA-CRNN (AC7, on the input)', { variant: 'sta-crnn', attentionPosition: 7 }],
  ['Base1', { variant: 'base1' }],
  ['Base2 (AC3)', { variant: 'base2', attentionPosition: 3 }],
  ['Base3', { variant: 'base3' }],
  ['Base4', { variant: 'base4' }],
];

for (const [name, config] of variants) {
  dataTest(test, `${name}: ONNX Runtime posteriors match tfjs to 1e-4 on real Emo-DB windows`, [EMODB], async () => {
    await initTf();
    const { windows, norm } = await realWindows();
    assert.ok(windows.length >= 3);
    const model = buildModel({ ...config, width: 0.0625, numClasses: 7 });
    perturbBatchNorm(model);
    const meta = { name: 't', labels: ['W', 'L', 'E', 'A', 'F', 'T', 'N'], norm };
    const r = await checkParity(model, meta, exportOnnx(model, meta), windows);
    model.dispose();
    assert.is(r.windows, windows.length);
    assert.ok(r.maxAbsDiff <= 1e-4, `max |Δ| = ${r.maxAbsDiff}`);
  });
}

test.run();
