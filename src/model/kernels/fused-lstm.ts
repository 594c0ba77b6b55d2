// A fused LSTM sequence op for the WASM and cpu backends.
//
// tfjs-layers runs an LSTM one time step at a time, ~20 kernels per step forward and more
// backward: the BiLSTM over 75 steps cost ~16 000 kernel calls per training step, each with
// engine overhead, and its per-step weight gradients hit slow GEMM shapes. Here the input
// projection X·W (forward) and the gradients dX = dZ·Wᵀ, dW = Xᵀ·dZ (backward) are one GEMM
// each over all time steps, as is dR = Hᵀ·dZ; per step only h·R (forward) and dz·Rᵀ
// (backward) remain, one GEMM call each with R packed once, and the gate maths and
// back-propagation through time are plain loops over Float32Arrays.
//
// It is installed by patching tfjs-layers' LSTM.call rather than by a layer class of our own,
// so saved models keep the stock 'LSTM' class (loadable anywhere, exported to ONNX as before).
// The fused path runs only where it is exactly the stock maths: tanh activation, sigmoid
// gates, a bias, no dropout, no mask/initial state/stateful use; everything else, and other
// backends (tfjs-node, GPU), take the stock path. test/model-lstm.test.ts checks outputs and
// gradients against the stock layer.
import * as tf from '@tensorflow/tfjs';

type Sym = { getClassName(): string };
interface LstmCellLike {
  units: number;
  dropout: number;
  recurrentDropout: number;
  useBias: boolean;
  activation: Sym;
  recurrentActivation: Sym;
  kernel: { read(): tf.Tensor };
  recurrentKernel: { read(): tf.Tensor };
  bias: { read(): tf.Tensor } | null;
}
interface LstmLike {
  cell: LstmCellLike;
  goBackwards: boolean;
  returnSequences: boolean;
  returnState: boolean;
  stateful: boolean;
}
type CallFn = (this: LstmLike, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];

let installed = false;
let enabled = true;

/** Switch the fused path off (stock tfjs-layers LSTM) or back on: for tests and benchmarks. */
export function setFusedLstmEnabled(on: boolean): void {
  enabled = on;
}

export function installFusedLstm(): void {
  if (installed) return;
  installed = true;
  const probe = tf.layers.lstm({ units: 1 });
  const proto = Object.getPrototypeOf(probe) as { call: CallFn };
  const stock = proto.call;
  proto.call = function (this: LstmLike, inputs, kwargs) {
    const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : null) : inputs;
    if (!x || !canFuse(this, x, kwargs ?? {})) return stock.call(this, inputs, kwargs);
    const c = this.cell;
    return tf.tidy(() => {
      const hs = lstmSequence(
        x as tf.Tensor3D,
        c.kernel.read() as tf.Tensor2D,
        c.recurrentKernel.read() as tf.Tensor2D,
        c.bias!.read() as tf.Tensor1D,
        this.goBackwards,
      );
      if (this.returnSequences) return hs;
      const [b, t, u] = hs.shape;
      return tf.reshape(tf.slice(hs, [0, t - 1, 0], [b, 1, u]), [b, u]);
    });
  };
}

function canFuse(l: LstmLike, x: tf.Tensor, kwargs: Record<string, unknown>): boolean {
  const backend = tf.getBackend();
  const c = l.cell;
  return (
    enabled &&
    (backend === 'wasm' || backend === 'cpu') &&
    x.rank === 3 &&
    x.dtype === 'float32' &&
    x.shape[1]! > 0 &&
    !l.returnState &&
    !l.stateful &&
    kwargs.mask == null &&
    kwargs.initialState == null &&
    !(c.dropout > 0) &&
    !(c.recurrentDropout > 0) &&
    c.useBias &&
    c.bias != null &&
    c.activation.getClassName() === 'tanh' &&
    c.recurrentActivation.getClassName() === 'sigmoid'
  );
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** rows·M for a [rows, K] Float32Array through the backend's GEMM (M a tensor it can keep packed). */
function gemm(rows: Float32Array, nRows: number, m: tf.Tensor2D): Float32Array {
  // Not tf.tidy(() => ….dataSync()): tidy walks a returned typed array element by element.
  const a = tf.tensor2d(rows, [nRows, m.shape[0]]);
  const p = tf.matMul(a, m);
  const v = p.dataSync() as Float32Array;
  tf.dispose([a, p]);
  return v;
}

/**
 * The hidden states of one LSTM direction, [B, T, U], in processing order (for goBackwards
 * the first output belongs to the last input step, as tfjs-layers' rnn() returns them).
 * Gates are packed i, f, c, o as in tfjs-layers/Keras. The per-step products h·R and dz·Rᵀ
 * go through the backend's GEMM (R stays packed across steps); the gate maths is a JS loop.
 */
export function lstmSequence(
  x: tf.Tensor3D,
  kernel: tf.Tensor2D,
  recurrent: tf.Tensor2D,
  bias: tf.Tensor1D,
  goBackwards: boolean,
): tf.Tensor3D {
  const op = tf.customGrad((...args: (tf.Tensor | ((s: tf.Tensor[]) => void))[]) => {
    const [xx, w, r, bb] = args as tf.Tensor[];
    const save = args[4] as (s: tf.Tensor[]) => void;
    const [B, T, F] = xx.shape as [number, number, number];
    const G = w.shape[1]!,
      U = G / 4;
    const xwT = tf.tidy(() => tf.matMul(tf.reshape(xx, [B * T, F]), w));
    const xw = xwT.dataSync() as Float32Array; // [B·T, 4U], by input step
    xwT.dispose();
    const bias = bb.dataSync() as Float32Array;
    // Per processing step s: gate activations (i, f, g, o) and the cell state.
    const gates = new Float32Array(T * B * G),
      cs = new Float32Array(T * B * U),
      hs = new Float32Array(B * T * U);
    const h = new Float32Array(B * U),
      cPrev = new Float32Array(B * U);
    for (let s = 0; s < T; s++) {
      const t = goBackwards ? T - 1 - s : s;
      const hr = s > 0 ? gemm(h, B, r as tf.Tensor2D) : null; // [B, 4U]
      for (let b = 0; b < B; b++) {
        const xo = (b * T + t) * G,
          ho = b * U,
          zo = b * G;
        const go = (s * B + b) * G,
          co = (s * B + b) * U;
        for (let k = 0; k < U; k++) {
          const zi = xw[xo + k] + bias[k] + (hr ? hr[zo + k] : 0);
          const zf = xw[xo + U + k] + bias[U + k] + (hr ? hr[zo + U + k] : 0);
          const zg = xw[xo + 2 * U + k] + bias[2 * U + k] + (hr ? hr[zo + 2 * U + k] : 0);
          const zz = xw[xo + 3 * U + k] + bias[3 * U + k] + (hr ? hr[zo + 3 * U + k] : 0);
          const ig = sigmoid(zi),
            fg = sigmoid(zf),
            gg = Math.tanh(zg),
            og = sigmoid(zz);
          const cv = fg * cPrev[ho + k] + ig * gg;
          gates[go + k] = ig;
          gates[go + U + k] = fg;
          gates[go + 2 * U + k] = gg;
          gates[go + 3 * U + k] = og;
          cs[co + k] = cv;
          cPrev[ho + k] = cv;
          const hv = og * Math.tanh(cv);
          h[ho + k] = hv;
          hs[(b * T + s) * U + k] = hv;
        }
      }
    }
    const value = tf.tensor3d(hs, [B, T, U]);
    save([xx, w, r]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [sx, sw, sr] = saved;
      const dyv = dy.dataSync() as Float32Array;
      const rT = tf.transpose(sr) as tf.Tensor2D; // one tensor for all steps: packed once
      const dZ = new Float32Array(B * T * G); // by input step t, aligned with X
      const hPrev = new Float32Array(B * T * U); // h_{s-1} for the step that read input t
      const db = new Float64Array(G);
      let dhNext: Float32Array = new Float32Array(B * U);
      const dcNext = new Float32Array(B * U),
        dzStep = new Float32Array(B * G);
      for (let s = T - 1; s >= 0; s--) {
        const t = goBackwards ? T - 1 - s : s;
        for (let b = 0; b < B; b++) {
          const go = (s * B + b) * G,
            co = (s * B + b) * U,
            ho = b * U,
            zo = b * G;
          const cpo = ((s - 1) * B + b) * U;
          for (let k = 0; k < U; k++) {
            const ig = gates[go + k],
              fg = gates[go + U + k],
              gg = gates[go + 2 * U + k],
              og = gates[go + 3 * U + k];
            const tc = Math.tanh(cs[co + k]);
            const dh = dyv[(b * T + s) * U + k] + dhNext[ho + k];
            const dc = dh * og * (1 - tc * tc) + dcNext[ho + k];
            const cp = s > 0 ? cs[cpo + k] : 0;
            dzStep[zo + k] = dc * gg * ig * (1 - ig);
            dzStep[zo + U + k] = dc * cp * fg * (1 - fg);
            dzStep[zo + 2 * U + k] = dc * ig * (1 - gg * gg);
            dzStep[zo + 3 * U + k] = dh * tc * og * (1 - og);
            dcNext[ho + k] = dc * fg;
          }
          dZ.set(dzStep.subarray(zo, zo + G), (b * T + t) * G);
          for (let j = 0; j < G; j++) db[j] += dzStep[zo + j];
          if (s > 0) hPrev.set(hs.subarray((b * T + s - 1) * U, (b * T + s) * U), (b * T + t) * U);
        }
        if (s > 0) dhNext = gemm(dzStep, B, rT);
      }
      rT.dispose();
      return tf.tidy(() => {
        const dZt = tf.tensor2d(dZ, [B * T, G]);
        const dx = tf.reshape(tf.matMul(dZt, sw, false, true), [B, T, F]);
        const dW = tf.matMul(tf.reshape(sx, [B * T, F]), dZt, true, false);
        const dR = tf.matMul(tf.tensor2d(hPrev, [B * T, U]), dZt, true, false);
        return [dx, dW, dR, tf.tensor1d(Float32Array.from(db))];
      });
    };
    return { value, gradFunc };
  });
  return op(x, kernel, recurrent, bias) as tf.Tensor3D;
}
