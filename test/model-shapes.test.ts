// Every architecture variant builds with the documented shapes; attention weights are
// distributions; bad configs are refused.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { initTf, tf } from '../src/model/tf.js';
import { buildModel, resolveConfig, VARIANTS } from '../src/model/sta-crnn.js';
import { SpatialAttention, TemporalAttention } from '../src/model/layers.js';

const t = suite('model-shapes');
const W = 0.0625; // 8/16 channels: shapes only, kept quick

t.before(async () => {
  await initTf();
});

t('the paper configuration gives 75 × 2 × 256 before the BiLSTM and 4.36 M parameters', () => {
  const m = buildModel({ numClasses: 7 });
  assert.equal(m.getLayer('spatial_attention').outputShape, [null, 75, 2, 256]);
  assert.equal(m.getLayer('to_sequence').outputShape, [null, 75, 512]);
  assert.equal(m.getLayer('bilstm').outputShape, [null, 75, 256]);
  assert.equal(m.getLayer('temporal_attention').outputShape, [null, 256]);
  assert.equal(m.outputs[0].shape, [null, 7]);
  for (const k of [1, 2, 3, 4, 5, 6]) assert.ok(m.getLayer(`conv${k}`) && m.getLayer(`bn${k}`), `conv${k}/bn${k}`);
  assert.is(m.countParams(), 4357098);
  m.dispose();
});

for (const variant of VARIANTS) {
  t(`${variant}: one window in, a distribution over the classes out`, () => {
    const m = buildModel({ variant, width: W, numClasses: 4 });
    const names = m.layers.map((l) => l.name);
    assert.is(
      names.includes('spatial_attention'),
      variant === 'sta-crnn' || variant === 'base2' || variant === 'base4',
      'spatial attention presence',
    );
    assert.is(
      names.includes('temporal_attention'),
      variant === 'sta-crnn' || variant === 'base3' || variant === 'base4',
      'temporal attention presence',
    );
    const y = tf.tidy(() => m.predict(tf.randomNormal([2, 300, 40, 3], 0, 1, 'float32', 3)) as tf.Tensor);
    assert.equal(y.shape, [2, 4]);
    const v = y.arraySync() as number[][];
    for (const row of v) assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    y.dispose();
    m.dispose();
  });
}

t('spatial attention can sit at AC1…AC7; the map shape after it follows the position', () => {
  const expect: Record<number, number[]> = { 1: [150, 10], 2: [75, 2], 3: [75, 2], 6: [75, 2], 7: [300, 40] };
  for (const ac of [1, 2, 3, 4, 5, 6, 7]) {
    const m = buildModel({ width: W, attentionPosition: ac, numClasses: 3 });
    const sa = m.getLayer('spatial_attention');
    if (expect[ac]) assert.equal((sa.outputShape as number[]).slice(1, 3), expect[ac], `AC${ac}`);
    assert.equal(m.outputs[0].shape, [null, 3]);
    m.dispose();
  }
});

t('width multiplier scales the conv channels and LSTM units', () => {
  const m = buildModel({ width: 0.25, numClasses: 4 });
  assert.equal(m.getLayer('conv1').outputShape, [null, 300, 40, 32]);
  assert.equal(m.getLayer('conv6').outputShape, [null, 75, 2, 64]);
  assert.equal(m.getLayer('bilstm').outputShape, [null, 75, 64]);
  m.dispose();
});

t('temporal attention weights sum to 1 over time; spatial mask is in (0, 1)', () => {
  const ta = new TemporalAttention({ name: 'ta_test', seed: 5 });
  const h = tf.randomNormal([3, 11, 6], 0, 1, 'float32', 9) as tf.Tensor3D;
  ta.apply(h);
  const mu = ta.weightsFor(h);
  assert.equal(mu.shape, [3, 11]);
  for (const row of mu.arraySync()) assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  // The output is the μ-weighted sum of h.
  const out = ta.apply(h) as tf.Tensor;
  const manual = tf.sum(tf.mul(h, tf.expandDims(mu, -1)), 1);
  assert.ok(tf.max(tf.abs(tf.sub(out, manual))).dataSync()[0] < 1e-5);

  const sa = new SpatialAttention({ name: 'sa_test', kernelSize: 7, seed: 5 });
  const x = tf.randomNormal([2, 9, 5, 4], 0, 1, 'float32', 4) as tf.Tensor4D;
  const y = sa.apply(x) as tf.Tensor;
  assert.equal(y.shape, [2, 9, 5, 4]);
  const mask = sa.mask(x);
  assert.equal(mask.shape, [2, 9, 5, 1]);
  const mv = mask.dataSync();
  assert.ok(mv.every((v) => v > 0 && v < 1));
  assert.ok(tf.max(tf.abs(tf.sub(y, tf.mul(x, mask)))).dataSync()[0] < 1e-6);
  tf.dispose([h, mu, out, manual, x, y, mask]);
});

t('dropout draws a fresh mask at every training call (a fixed mask would train another network)', () => {
  const m = buildModel({ width: W, numClasses: 4, dropout: 0.5 });
  const x = tf.randomNormal([1, 300, 40, 3], 0, 1, 'float32', 8);
  const sub = tf.model({ inputs: m.inputs, outputs: m.getLayer('dropout1').output as tf.SymbolicTensor });
  const a = (sub.apply(x, { training: true }) as tf.Tensor).dataSync();
  const b = (sub.apply(x, { training: true }) as tf.Tensor).dataSync();
  let differ = 0;
  for (let i = 0; i < a.length; i++) if ((a[i] === 0) !== (b[i] === 0)) differ++;
  assert.ok(differ > a.length / 10, `masks differ in ${differ} of ${a.length} units`);
  const c = (sub.apply(x, { training: false }) as tf.Tensor).dataSync();
  const d = (sub.apply(x, { training: false }) as tf.Tensor).dataSync();
  assert.ok(
    d.every((v, i) => v === c[i]),
    'inference is deterministic',
  );
  m.dispose();
});

t('bad configurations are refused with a clear message', () => {
  assert.throws(() => resolveConfig({ attentionPosition: 8 }), /attentionPosition must be 1…7/);
  assert.throws(() => resolveConfig({ width: 0 }), /width/);
  assert.throws(() => resolveConfig({ variant: 'nope' as never }), /unknown variant/);
});

t.run();
