// One part of a batch → its gradient, loss and hits. The trainer sums parts on the main thread;
// the gradient workers (parallel.ts, gradient-worker.ts) compute the other parts with the same
// function, so a batch's gradient is the same however it is split.
import { tf } from '../model/tf.js';
import { N_CHANNELS, N_MELS, WINDOW_FRAMES, WINDOW_SIZE } from '../dsp/types.js';

const EPS = 1e-7;

export function crossEntropy(probs: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.log(tf.clipByValue(probs, EPS, 1))), -1))) as tf.Scalar);
}

/** Model input [n, 300, 40, 3] and one-hot targets from normalised windows and labels. */
export function windowTensors(x: Float32Array, y: Int32Array, k: number) {
  return {
    x: tf.tensor4d(x, [y.length, WINDOW_FRAMES, N_MELS, N_CHANNELS]),
    y: tf.tidy(() => tf.oneHot(tf.tensor1d(y, 'int32'), k)),
  };
}

/** Gradients (by trainable-variable index) of one part of a batch, and its loss and hits. */
export interface PartGradients {
  grads: tf.Tensor[];
  /** Sum over the part's segments of the per-segment cross-entropy. */
  lossSum: number;
  correct: number;
}

/**
 * The gradient contribution of `n` normalised windows `x` with labels `y` to a batch of
 * `batchLen`: each chunk of at most `micro` windows adds its mean loss weighted by its share
 * of the batch, so the parts of a batch (chunks here, worker parts in parallel.ts) sum to the
 * whole batch's gradient. Used by the trainer and by its gradient workers.
 */
export async function partGradients(
  model: tf.LayersModel,
  vars: tf.Variable[],
  x: Float32Array,
  y: Int32Array,
  k: number,
  batchLen: number,
  micro?: number,
): Promise<PartGradients> {
  const n = y.length;
  const step = micro && micro < n ? micro : n;
  const grads: tf.Tensor[] = [];
  let lossSum = 0,
    correct = 0;
  for (let m = 0; m < n; m += step) {
    const len = Math.min(step, n - m);
    const { x: xs, y: ys } = windowTensors(x.subarray(m * WINDOW_SIZE, (m + len) * WINDOW_SIZE), y.subarray(m, m + len), k);
    let pred: tf.Tensor | null = null;
    const { value, grads: g } = tf.variableGrads(() => {
      const p = model.apply(xs, { training: true }) as tf.Tensor;
      pred = tf.keep(tf.argMax(p, -1));
      return tf.mul(crossEntropy(p, ys), len / batchLen) as tf.Scalar;
    }, vars);
    vars.forEach((v, i) => {
      const t = g[v.name];
      if (grads[i]) {
        const sum = tf.add(grads[i], t);
        tf.dispose([grads[i], t]);
        grads[i] = sum;
      } else grads[i] = t;
    });
    lossSum += (await value.data())[0] * batchLen;
    const pv = (await (pred as unknown as tf.Tensor).data()) as Int32Array;
    for (let i = 0; i < len; i++) if (pv[i] === y[m + i]) correct++;
    tf.dispose([xs, ys, value, pred as unknown as tf.Tensor]);
  }
  return { grads, lossSum, correct };
}
