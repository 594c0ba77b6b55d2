// The fused LSTM sequence op (src/model/fused-lstm.ts) against tfjs-layers' stock LSTM: the
// same Bidirectional layer, same weights, same input, fused path on and off.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { initTf, tf } from '../src/model/tf.js';
import { setFusedLstmEnabled } from '../src/model/kernels/fused-lstm.js';

const t = suite('model-lstm');
t.before(async () => {
  await initTf();
});
t.after(() => setFusedLstmEnabled(true));

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

function run(returnSequences: boolean, fused: boolean, seed: number) {
  setFusedLstmEnabled(fused);
  return tf.tidy(() => {
    const layer = tf.layers.bidirectional({
      mergeMode: 'concat',
      layer: tf.layers.lstm({
        units: 5,
        returnSequences,
        recurrentActivation: 'sigmoid',
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
        recurrentInitializer: tf.initializers.orthogonal({ seed: seed + 1 }),
        biasInitializer: tf.initializers.randomNormal({ seed: seed + 2, stddev: 0.5 }),
      }) as unknown as tf.RNN,
    });
    const x = tf.randomNormal([3, 7, 4], 0, 1, 'float32', seed + 3);
    const y = layer.apply(x) as tf.Tensor;
    const dy = tf.randomNormal(y.shape, 0, 1, 'float32', seed + 4);
    const weights = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    const f = (xx: tf.Tensor) => tf.sum(tf.mul(layer.apply(xx) as tf.Tensor, dy)) as tf.Scalar;
    const { grads } = tf.variableGrads(() => f(x), weights);
    const dx = tf.grad(f)(x);
    const out = { y: y.dataSync(), dx: dx.dataSync(), dw: weights.map((w) => grads[w.name].dataSync()) };
    layer.dispose();
    return out;
  });
}

for (const returnSequences of [true, false]) {
  t(`fused BiLSTM equals the stock layer (returnSequences ${returnSequences}): outputs, input and weight gradients`, () => {
    const stock = run(returnSequences, false, 7);
    const fused = run(returnSequences, true, 7);
    assert.ok(maxAbsDiff(fused.y, stock.y) < 1e-5, `outputs differ by ${maxAbsDiff(fused.y, stock.y)}`);
    assert.ok(maxAbsDiff(fused.dx, stock.dx) < 1e-4, `input gradients differ by ${maxAbsDiff(fused.dx, stock.dx)}`);
    assert.is(fused.dw.length, 6, 'kernel, recurrent kernel and bias for each direction');
    fused.dw.forEach((g, i) =>
      assert.ok(maxAbsDiff(g, stock.dw[i]) < 1e-4, `weight gradient ${i} differs by ${maxAbsDiff(g, stock.dw[i])}`),
    );
  });
}

t('the fused path really runs (far fewer kernels than the stock one)', async () => {
  const kernels = async (fused: boolean) =>
    (
      await tf.profile(() => {
        run(true, fused, 3);
      })
    ).kernels.length;
  const stock = await kernels(false),
    fused = await kernels(true);
  assert.ok(fused * 5 < stock, `fused ${fused} kernels vs stock ${stock}`);
});

t.run();
