// The WASM gradient kernels we supply (Conv2DBackpropFilter, the faster Conv2DBackpropInput,
// the broadcasting BatchNorm gradient) and the fast-path overrides (Sum/Mean over leading axes,
// MaxPoolGrad, BatchMatMul with transposeA) against tfjs's cpu backend and a numerical gradient.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { initTfTraining, tf } from '../src/model/tf.js';

const t = suite('model-grad');
let backend = '';

t.before(async () => {
  backend = await initTfTraining();
});

type Case = {
  name: string;
  x: [number, number, number, number];
  f: [number, number, number, number];
  strides: number;
  pad: 'same' | 'valid';
};
const cases: Case[] = [
  { name: "5×3 same (the model's conv)", x: [2, 9, 6, 3], f: [5, 3, 3, 4], strides: 1, pad: 'same' },
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

for (const [c, path] of cases.flatMap(
  (c) =>
    [
      [c, 'im2col'],
      [c, 'per-offset fallback'],
    ] as const,
)) {
  t(`conv gradients match the cpu backend: ${c.name}, ${path}`, async () => {
    await tf.setBackend('wasm');
    if (path !== 'im2col') process.env.EMOSTREAM_IM2COL_MAX_FLOATS = '0';
    let w: ReturnType<typeof grads>;
    try {
      w = grads(c, 'wasm');
    } finally {
      delete process.env.EMOSTREAM_IM2COL_MAX_FLOATS;
    }
    await tf.setBackend('cpu');
    const cpu = tf.tidy(() => {
      const x = tf.tensor(w.x) as tf.Tensor4D,
        f = tf.tensor(w.f) as tf.Tensor4D,
        dy = tf.tensor(w.dy);
      const [gx, gf] = tf.grads((xx: tf.Tensor, ff: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, c.strides, c.pad), dy)),
      )([x, f]);
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
  const x = tf.tensor(w.x) as tf.Tensor4D,
    dy = tf.tensor(w.dy);
  const f0 = Float32Array.from(w.f.flat(3) as number[]);
  const L = (fv: Float32Array) =>
    tf.tidy(() => tf.sum(tf.mul(tf.conv2d(x, tf.tensor4d(fv, c.f as [number, number, number, number]), 1, 'same'), dy)).dataSync()[0]);
  const eps = 0.05;
  for (const i of [0, 7, 23, 59, 100, f0.length - 1]) {
    const p = f0.slice();
    p[i] += eps;
    const m = f0.slice();
    m[i] -= eps;
    const num = (L(p) - L(m)) / (2 * eps);
    assert.ok(Math.abs(num - w.gf[i]) < 2e-2 * Math.max(1, Math.abs(num)), `entry ${i}: numerical ${num} vs kernel ${w.gf[i]}`);
  }
  tf.dispose([x, dy]);
});

t('BatchNorm gradient (broadcasting) matches the cpu backend', async () => {
  const run = () =>
    tf.tidy(() => {
      const x = tf.randomNormal([4, 5, 3, 6], 1, 2, 'float32', 21);
      const scale = tf.randomNormal([6], 1, 0.2, 'float32', 22),
        offset = tf.randomNormal([6], 0, 0.2, 'float32', 23);
      const dy = tf.randomNormal([4, 5, 3, 6], 0, 1, 'float32', 24);
      const f = (xx: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => {
        const { mean, variance } = tf.moments(xx, [0, 1, 2]);
        return tf.sum(tf.mul(tf.batchNorm(xx, mean, variance, o, s, 1e-3), dy));
      };
      return tf
        .grads(f as (...a: tf.Tensor[]) => tf.Tensor)([x, scale, offset])
        .map((g) => Array.from(g.dataSync()));
    });
  await tf.setBackend('wasm');
  const a = run();
  await tf.setBackend('cpu');
  const b = run();
  await tf.setBackend('wasm');
  a.forEach((g, i) => assert.ok(maxAbsDiff(g, b[i]) < 1e-3, `gradient ${i} differs by ${maxAbsDiff(g, b[i])}`));
});

/** Run f on wasm and on cpu with the same seeded inputs; f returns flat arrays to compare. */
async function onBoth(f: () => number[][]): Promise<[number[][], number[][]]> {
  await tf.setBackend('wasm');
  const a = f();
  await tf.setBackend('cpu');
  const b = f();
  await tf.setBackend('wasm');
  return [a, b];
}

t('Sum and Mean over the leading axes (fast path) and over other axes (stock) match cpu', async () => {
  const [a, b] = await onBoth(() =>
    tf.tidy(() => {
      const x = tf.randomNormal([3, 7, 5, 6], 0.5, 2, 'float32', 31);
      return [
        tf.sum(x, [0, 1, 2]),
        tf.mean(x, [2, 0, 1]),
        tf.sum(x, [0, 1, 2], true),
        tf.mean(tf.reshape(x, [105, 6]), 0),
        tf.sum(tf.reshape(x, [105, 6]).slice([0, 0], [102, 6]), 0), // rows not a multiple of the unroll
        tf.sum(x, [1, 2]),
        tf.mean(x, -1),
        tf.sum(x),
      ].map((r) => Array.from(r.dataSync()));
    }),
  );
  a.forEach((r, i) =>
    assert.ok(r.length === b[i].length && maxAbsDiff(r, b[i]) < 1e-3, `reduction ${i} differs by ${maxAbsDiff(r, b[i])}`),
  );
  assert.equal(
    tf.tidy(() => tf.sum(tf.ones([2, 3, 4]), [0, 1], true).shape),
    [1, 1, 4],
  );
});

t("MaxPoolGrad matches cpu: the model's 2×4 pool, an overlapping same-padded pool, and ties", async () => {
  const pools: [[number, number], [number, number], 'valid' | 'same'][] = [
    [[2, 4], [2, 4], 'valid'],
    [[3, 3], [2, 2], 'same'],
    [[2, 2], [1, 1], 'valid'],
  ];
  const [a, b] = await onBoth(() =>
    tf.tidy(() => {
      const x = tf.randomNormal([2, 9, 11, 3], 0, 1, 'float32', 41);
      // Rounded values make ties: the gradient must go to the first maximum, as on cpu.
      const ties = tf.round(tf.mul(x, 1.5));
      return pools.flatMap(([size, stride, pad]) =>
        [x, ties].map((input) => {
          const dy = tf.randomNormal(tf.maxPool(input as tf.Tensor4D, size, stride, pad).shape, 0, 1, 'float32', 42);
          const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(v as tf.Tensor4D, size, stride, pad), dy)))(input);
          return Array.from(g.dataSync());
        }),
      );
    }),
  );
  a.forEach((r, i) => assert.ok(maxAbsDiff(r, b[i]) < 1e-5, `pool case ${i} differs by ${maxAbsDiff(r, b[i])}`));
});

t('BatchMatMul with transposeA or a large transposed B (fast paths) matches cpu, batched and 2-D', async () => {
  const [a, b] = await onBoth(() =>
    tf.tidy(() => {
      const p = tf.randomNormal([8, 5], 0, 1, 'float32', 51),
        q = tf.randomNormal([8, 6], 0, 1, 'float32', 52);
      const pb = tf.randomNormal([3, 4, 5], 0, 1, 'float32', 53),
        qb = tf.randomNormal([3, 4, 2], 0, 1, 'float32', 54);
      const qt = tf.randomNormal([6, 8], 0, 1, 'float32', 55);
      const s = tf.randomNormal([3, 5], 0, 1, 'float32', 56),
        big = tf.randomNormal([9, 5], 0, 1, 'float32', 57);
      const sb = tf.randomNormal([2, 3, 5], 0, 1, 'float32', 58),
        bigb = tf.randomNormal([2, 9, 5], 0, 1, 'float32', 59);
      return [
        tf.matMul(p, q, true, false),
        tf.matMul(pb, qb, true, false),
        tf.matMul(p, qt, true, true),
        tf.matMul(s, big, false, true),
        tf.matMul(sb, bigb, false, true),
        tf.matMul(big, s, false, true),
      ].map((r) => Array.from(r.dataSync()));
    }),
  );
  a.forEach((r, i) => assert.ok(maxAbsDiff(r, b[i]) < 1e-4, `product ${i} differs by ${maxAbsDiff(r, b[i])}`));
});

t.run();
