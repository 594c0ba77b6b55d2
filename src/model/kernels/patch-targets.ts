// What the fused LSTM and the WASM kernels assume about tfjs's internals. They patch private
// parts (tfjs-layers' LSTM.call, the WASM backend's registered kernels and heap methods), which
// a tfjs release may rename without notice: the kernels then fall back to the stock (slow) path
// silently. package.json pins @tensorflow/* to exact versions, and a test runs this check so an
// upgrade that breaks a target fails loudly, naming it.
import * as tf from '@tensorflow/tfjs';

/** Kernels the WASM backend must have registered: the ones we wrap or call. */
export const WASM_KERNELS = ['Sum', 'Mean', 'MaxPoolGrad', 'BatchMatMul', 'Transpose', 'Conv2D', 'Conv2DBackpropInput'] as const;

/** Methods of the WASM backend object the kernels call. */
export const WASM_BACKEND_METHODS = ['makeOutput', 'typedArrayFromHeap', 'disposeData'] as const;

/** LSTM properties the fused path reads (src/model/kernels/fused-lstm.ts). */
const LSTM_FIELDS = ['cell', 'goBackwards', 'returnSequences', 'returnState', 'stateful'] as const;
const CELL_FIELDS = [
  'kernel',
  'recurrentKernel',
  'bias',
  'activation',
  'recurrentActivation',
  'useBias',
  'dropout',
  'recurrentDropout',
] as const;

/**
 * Every patch target that is missing, as sentences; empty when all are in place. The WASM checks
 * run only when the WASM backend is registered (pass its backend object to check its methods).
 */
export function missingPatchTargets(wasmBackend?: object): string[] {
  const out: string[] = [];
  const lstm = tf.layers.lstm({ units: 1 }) as unknown as Record<string, unknown>;
  const proto = Object.getPrototypeOf(lstm) as Record<string, unknown>;
  if (typeof proto.call !== 'function') out.push("tfjs-layers' LSTM prototype has no call() to patch (fused LSTM)");
  for (const f of LSTM_FIELDS) if (!(f in lstm)) out.push(`tfjs-layers' LSTM has no '${f}' (fused LSTM)`);
  const layer = lstm as unknown as tf.layers.Layer;
  tf.tidy(() => {
    layer.apply(tf.zeros([1, 2, 3])); // builds the cell's weights
  });
  const cell = lstm.cell as Record<string, unknown> | undefined;
  if (cell) for (const f of CELL_FIELDS) if (cell[f] === undefined) out.push(`tfjs-layers' LSTMCell has no '${f}' (fused LSTM)`);
  layer.dispose();
  if (tf.findBackendFactory('wasm')) {
    for (const k of WASM_KERNELS) if (!tf.getKernel(k, 'wasm')) out.push(`the WASM backend has no '${k}' kernel to wrap or call`);
  }
  if (wasmBackend) {
    const b = wasmBackend as Record<string, unknown>;
    for (const m of WASM_BACKEND_METHODS) if (typeof b[m] !== 'function') out.push(`the WASM backend object has no ${m}()`);
  }
  return out;
}
