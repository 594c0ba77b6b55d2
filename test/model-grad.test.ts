// The WASM gradient kernels we supply (Conv2DBackpropFilter, the faster Conv2DBackpropInput,
// the broadcasting BatchNorm gradient) against tfjs's cpu backend and a numerical gradient.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { initTf, tf } from '../src/model/tf.js';

const t = suite('model-grad');
let backend = '';

t.before(async () => { backend = await initTf(); });

type Case = { name: string; x: [number, number, number, number]; f: [number, number, number, number]; strides: number; pad: 'same' | 'valid' };
const cases: Case[] = [
  { name: '5×3 same (the model\'s conv)', x: [2, 9, 6, 3], f: [5, 3, 3, 4], strides: 1, pad: 'same' },
  { name: '4×2 same (asymmetric padding)', x: [1, 7, 5, 2], f: [4, 2, 2, 3], strides: 1, pad: 'same' },
  { name: '3×3 valid', x: [2, 6, 6, 4], f: [3, 3, 4, 5], strides: 1, pad: 'valid' },
  { name: '3×3 stride 2 (fallback path)', x: [1, 8, 8, 2], f: [3, 3, 2, 3], strides: 2, pad: 'same' },
];

function grads(c: Case, onBackend: string) {
  return tf.tidy(() => {
    const x = tf.randomNormal(c.x, 0, 1, 'float32', 11) as tf.Tensor4D;
    const f = tf.randomNormal(c.f, 0, 1, 'float32', 12) as tf.Tensor4D;
    const y = tf.conv2d(x, f, c.strides, c.pad);
    const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 13);
    const loss = (xx: tf.Tensor4D, ff: tf.Tensor4D) => tf.sum(tf.mul(tf.conv2d(xx, ff, c.strides, c.pad), dy));
    const [gx, gf] = tf.grads((xx: tf.Tensor, ff: tf.Tensor) => loss(xx as tf.Tensor4D, ff as tf.Tensor4D))([x, f]);
    void onBackend;
    return { x: x.arraySync(), f: f.arraySync(), dy: dy.arraySync(), gx: Array.from(gx.dataSync()), gf: Array.from(gf.dataSync()) };
  });
}

const maxAbsDiff = (a: number[], b: number[]) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

t('the backend is wasm (else these tests would check nothing of ours)', () => {
  assert.ok(backend.startsWith('tfjs-wasm'), backend);
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'), 'Conv2DBackpropFilter registered for wasm');
});

for (const c of cases) {
  t(`conv gradients match the cpu backend: ${c.name}`, async () => {
    await tf.setBackend('wasm');
    const w = grads(c, 'wasm');
    await tf.setBackend('cpu');
    const cpu = tf.tidy(() => {
      const x = tf.tensor(w.x) as tf.Tensor4D, f = tf.tensor(w.f) as tf.Tensor4D, dy = tf.tensor(w.dy);
      const [gx, gf] = tf.grads((xx: tf.Tensor, ff: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, c.strides, c.pad), dy)))([x, f]);
      return { gx: Array.from(gx.dataSync()), gf: Array.from(gf.dataSync()) };
    });
    await tf.setBackend('wasm');
    assert.ok(maxAbsDiff(w.gf, cpu.gf) < 1e-3, `filter grad differs by ${maxAbsDiff(w.gf, cpu.gf)}`);
    assert.ok(maxAbsDiff(w.gx, cpu.gx) < 1e-3, `input grad differs by ${maxAbsDiff(w.gx, cpu.gx)}`);
  });
}

t('conv filter gradient matches a numerical gradient (central differences)', async () => {
  await tf.setBackend('wasm');
  const c = cases[0];
  const w = grads(c, 'wasm');
  const x = tf.tensor(w.x) as tf.Tensor4D, dy = tf.tensor(w.dy);
  const f0 = Float32Array.from(w.f.flat(3) as number[]);
  const L = (fv: Float32Array) => tf.tidy(() => tf.sum(tf.mul(tf.conv2d(x, tf.tensor4d(fv, c.f as [number, number, number, number]), 1, 'same'), dy)).dataSync()[0]);
  const eps = 0.05;
  for (const i of [0, 7, 23, 59, 100, f0.length - 1]) {
    const p = f0.slice(); p[i] += eps;
    const m = f0.slice(); m[i] -= eps;
    const num = (L(p) - L(m)) / (2 * eps);
    assert.ok(Math.abs(num - w.gf[i]) < 2e-2 * Math.max(1, Math.abs(num)), `entry ${i}: numerical ${num} vs kernel ${w.gf[i]}`);
  }
  tf.dispose([x, dy]);
});

t('BatchNorm gradient (broadcasting) matches the cpu backend', async () => {
  const run = () => tf.tidy(() => {
    const x = tf.randomNormal([4, 5, 3, 6], 1, 2, 'float32', 21);
    const scale = tf.randomNormal([6], 1, 0.2, 'float32', 22), offset = tf.randomNormal([6], 0, 0.2, 'float32', 23);
    const dy = tf.randomNormal([4, 5, 3, 6], 0, 1, 'float32', 24);
    const f = (xx: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => {
      const { mean, variance } = tf.moments(xx, [0, 1, 2]);
      return tf.sum(tf.mul(tf.batchNorm(xx, mean, variance, o, s, 1e-3), dy));
    };
    return tf.grads(f as (...a: tf.Tensor[]) => tf.Tensor)([x, scale, offset]).map((g) => Array.from(g.dataSync()));
  });
  await tf.setBackend('wasm');
  const a = run();
  await tf.setBackend('cpu');
  const b = run();
  await tf.setBackend('wasm');
  a.forEach((g, i) => assert.ok(maxAbsDiff(g, b[i]) < 1e-3, `gradient ${i} differs by ${maxAbsDiff(g, b[i])}`));
});

t.run();
