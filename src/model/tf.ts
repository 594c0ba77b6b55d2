// The one place that picks the TensorFlow.js backend. Everything in src/model and src/train
// imports `tf` from here so a user-installed tfjs-node(-gpu) is used automatically, and the
// WASM backend is the portable default. Serving gets the forward kernels only; the gradient
// kernels are registered by initTfTraining(), which only the trainer calls.
import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { registerFastBatchNormGrad, registerWasmTrainingKernels } from './kernels/wasm-grad-kernels.js';
import { registerWasmFastKernels } from './kernels/wasm-fast-kernels.js';
import { installFusedLstm } from './kernels/fused-lstm.js';

export { tf };

let ready: Promise<string> | null = null;

/** Optional native bindings: only present if the user installed them (they need the internet). */
async function tryNative(): Promise<string | null> {
  if (process.env.EMOSTREAM_TF_BACKEND === 'wasm' || process.env.EMOSTREAM_TF_BACKEND === 'cpu') return null;
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
      // tfjs-node registers 'tensorflow' on the tfjs-core instance it resolves; it only helps
      // if that is the same instance as ours.
      if (tfjs.findBackend('tensorflow') && (await tfjs.setBackend('tensorflow'))) return `tfjs-node(${pkg})`;
    } catch {
      /* not installed: fall through */
    }
  }
  return null;
}

async function tryWasm(): Promise<string | null> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const require = createRequire(import.meta.url);
    // In Node the wasm binaries are loaded from disk; point at the package's dist folder.
    const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(join(dist, '/'));
    if (!(await tfjs.setBackend('wasm'))) return null;
    registerWasmFastKernels();
    const simd = await tfjs.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    return `tfjs-wasm${simd ? '-simd' : ''}`;
  } catch {
    return null;
  }
}

/**
 * Initialise tfjs once and return the backend's name. Order: tfjs-node-gpu, tfjs-node (if the
 * user has them), WASM (SIMD), then the pure-JS cpu backend. EMOSTREAM_TF_BACKEND=wasm|cpu forces one.
 */
export function initTf(): Promise<string> {
  if (!ready) {
    ready = (async () => {
      installFusedLstm();
      if (process.env.EMOSTREAM_TF_BACKEND === 'cpu') {
        await tfjs.setBackend('cpu');
        await tfjs.ready();
        return 'tfjs-cpu';
      }
      const name = (await tryNative()) ?? (await tryWasm());
      if (name) {
        await tfjs.ready();
        return name;
      }
      await tfjs.setBackend('cpu');
      await tfjs.ready();
      return 'tfjs-cpu';
    })();
  }
  return ready;
}

let training: Promise<string> | null = null;

/** initTf() plus the gradient kernels training needs (the fast BatchNorm gradient, and on WASM
 *  the convolution gradients, which the stock backend lacks or runs slowly). */
export function initTfTraining(): Promise<string> {
  if (!training) {
    training = (async () => {
      const name = await initTf();
      registerFastBatchNormGrad();
      if (tfjs.getBackend() === 'wasm') registerWasmTrainingKernels();
      return name;
    })();
  }
  return training;
}
