// Training throughput of STA-CRNN on this machine's tfjs backend: samples/s of a full
// training step (forward in training mode, backward, Adam update) against inference
// ms/window at the same batch size, per width multiplier.
//
//   node --import tsx bench/train.ts [--widths 1,0.25,0.125] [--batch 32] [--steps 3] [--profile]
import { parseArgs } from 'node:util';
import { initTfTraining, tf } from '../model/tf.js';
import { buildModel } from '../model/sta-crnn.js';

const { values } = parseArgs({
  options: {
    widths: { type: 'string', default: '1,0.25,0.125' },
    batch: { type: 'string', default: '32' },
    steps: { type: 'string', default: '3' },
    profile: { type: 'boolean', default: false },
  },
});
const backend = await initTfTraining();
const B = Number(values.batch),
  steps = Number(values.steps);
console.log(`backend ${backend}, batch ${B}, ${steps} timed steps after 1 warm-up`);
for (const w of values.widths.split(',').map(Number)) {
  const model = buildModel({ width: w, numClasses: 7 });
  const x = tf.randomNormal([B, 300, 40, 3], 0, 1, 'float32', 1);
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: B }, (_, i) => i % 7),
      'int32',
    ),
    7,
  );
  const opt = tf.train.adam(1e-3);
  const step = () =>
    opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true)!.dataSync();
  const infer = () => tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
  step();
  infer();
  let t0 = performance.now();
  for (let i = 0; i < steps; i++) infer();
  const inferMs = (performance.now() - t0) / steps / B;
  t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  const trainMs = (performance.now() - t0) / steps / B;
  console.log(
    `width ${w}: ${model.countParams()} params; inference ${inferMs.toFixed(1)} ms/window; training ${(1000 / trainMs).toFixed(1)} samples/s (${trainMs.toFixed(1)} ms/sample, ${(trainMs / inferMs).toFixed(1)}× inference)`,
  );
  if (values.profile) {
    const prof = await tf.profile(() => {
      step();
    });
    const agg = new Map<string, number>();
    for (const k of prof.kernels) agg.set(k.name, (agg.get(k.name) ?? 0) + (k.kernelTimeMs as number));
    console.log(
      '  kernel ms per step:',
      [...agg]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 10)
        .map(([k, v]) => `${k} ${v.toFixed(0)}`)
        .join(', '),
    );
  }
  tf.dispose([x, y]);
  opt.dispose();
  model.dispose();
}
