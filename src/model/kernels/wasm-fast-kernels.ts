// Replacements for tfjs-backend-wasm kernels that are slow on the shapes STA-CRNN training
// produces. Each one handles the common case in a plain loop over the WASM heap and hands
// every other case to the stock kernel, so behaviour outside the fast path is unchanged.
//
// Measured with `node --import tsx bench/train.ts --profile` (one training step, batch 8,
// paper width) before these existed:
// - Sum/Mean over all but the channel axis (BatchNorm statistics, bias and BN gradients): the
//   wasm kernel transposes first; ~120 ms for [8,300,40,128]. A channel-accumulating loop
//   takes ~10 ms.
// - MaxPoolGrad: ~450 ms for a 2×4 pool over [8,300,40,128]; an argmax-scatter loop ~30 ms.
// - BatchMatMul with transposeA or transposeB: the wasm kernel falls back to a naive loop
//   (6.7 ms for [8,512]ᵀ·[8,512]; 137 ms for [600,512]·[512,512]ᵀ against 11 ms untransposed).
//   Transposing first and using the XNNPACK path: 1.4 ms and ~13 ms. With a small left
//   operand, (B·Aᵀ)ᵀ packs only the small Aᵀ: 0.22 ms for [8,512]·[512,512]ᵀ, not 2.0.
import * as tf from '@tensorflow/tfjs';
import { backend_util, util } from '@tensorflow/tfjs';

import type { KernelArgs, KernelFn, TensorInfo, WasmBackendLike } from './wasm-grad-kernels.js';

/** Wrap a registered wasm kernel: `fast` returns null to defer to the stock one. */
function override(name: string, fast: (args: KernelArgs, stock: KernelFn) => TensorInfo | null): void {
  const cfg = tf.getKernel(name, 'wasm');
  if (!cfg) return;
  const stock = cfg.kernelFunc as unknown as KernelFn;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ ...cfg, kernelFunc: ((args: KernelArgs) => fast(args, stock) ?? stock(args)) as unknown as tf.KernelFunc });
}

let registered = false;

export function registerWasmFastKernels(): void {
  if (registered) return;
  registered = true;
  override('Sum', (args) => leadingAxesReduce(args, false));
  override('Mean', (args) => leadingAxesReduce(args, true));
  override('MaxPoolGrad', maxPoolGrad);
  override('BatchMatMul', matMulTransposed);
}

/** Sum/Mean of a float32 tensor over every axis but the last, accumulated in float64. */
function leadingAxesReduce({ inputs: { x }, backend, attrs }: KernelArgs, mean: boolean): TensorInfo | null {
  if (x.dtype !== 'float32' || x.shape.length < 2) return null;
  const axes = util.parseAxisParam(attrs.axis as number | number[], x.shape).sort((a, b) => a - b);
  const r = x.shape.length;
  if (axes.length !== r - 1 || axes.some((a, i) => a !== i)) return null;
  const c = x.shape[r - 1];
  const rows = util.sizeFromShape(x.shape) / (c || 1);
  const acc = new Float64Array(c);
  const xv = backend.typedArrayFromHeap(x);
  // Four rows per pass: half the accumulator traffic (measured 2× faster than one row).
  let i = 0,
    o = 0;
  for (; i + 4 <= rows; i += 4, o += 4 * c) {
    for (let k = 0; k < c; k++) acc[k] += xv[o + k] + xv[o + c + k] + (xv[o + 2 * c + k] + xv[o + 3 * c + k]);
  }
  for (; i < rows; i++, o += c) for (let k = 0; k < c; k++) acc[k] += xv[o + k];
  const outShape = attrs.keepDims ? x.shape.map((d, i) => (i < r - 1 ? 1 : d)) : [c];
  const out = backend.makeOutput(outShape, 'float32');
  const ov = backend.typedArrayFromHeap(out);
  const scale = mean ? 1 / (rows || 1) : 1;
  for (let k = 0; k < c; k++) ov[k] = acc[k] * scale;
  return out;
}

/** Max-pool gradient, NHWC: each output's gradient goes to the first maximum of its window
 * (row-major within the window, as tfjs's cpu backend does). */
function maxPoolGrad({ inputs: { dy, input }, backend, attrs }: KernelArgs): TensorInfo | null {
  if (input.dtype !== 'float32' || input.shape.length !== 4) return null;
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize as [number, number],
    attrs.strides as [number, number],
    1,
    attrs.pad as 'valid',
    attrs.dimRoundingMode as 'floor' | undefined,
  );
  const {
    batchSize: n,
    inHeight: h,
    inWidth: w,
    inChannels: c,
    outHeight: ho,
    outWidth: wo,
    strideHeight: sh,
    strideWidth: sw,
    effectiveFilterHeight: fh,
    effectiveFilterWidth: fw,
    dilationHeight: dh,
    dilationWidth: dw,
  } = info;
  if (dh !== 1 || dw !== 1) return null;
  const top = info.padInfo.top,
    left = info.padInfo.left;
  const out = backend.makeOutput(input.shape, 'float32');
  const xv = backend.typedArrayFromHeap(input);
  const gv = backend.typedArrayFromHeap(dy);
  const dx = backend.typedArrayFromHeap(out);
  dx.fill(0);
  const best = new Float32Array(c);
  const pos = new Int32Array(c);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < ho; oy++) {
      const y0 = Math.max(0, oy * sh - top),
        y1 = Math.min(h, oy * sh - top + fh);
      for (let ox = 0; ox < wo; ox++) {
        const x0 = Math.max(0, ox * sw - left),
          x1 = Math.min(w, ox * sw - left + fw);
        if (y1 <= y0 || x1 <= x0) continue;
        const first = ((b * h + y0) * w + x0) * c;
        for (let k = 0; k < c; k++) {
          best[k] = xv[first + k];
          pos[k] = first + k;
        }
        for (let iy = y0; iy < y1; iy++) {
          for (let ix = iy === y0 ? x0 + 1 : x0; ix < x1; ix++) {
            const base = ((b * h + iy) * w + ix) * c;
            for (let k = 0; k < c; k++) {
              const v = xv[base + k];
              if (v > best[k]) {
                best[k] = v;
                pos[k] = base + k;
              }
            }
          }
        }
        const g = ((b * ho + oy) * wo + ox) * c;
        for (let k = 0; k < c; k++) dx[pos[k]] += gv[g + k];
      }
    }
  }
  return out;
}

function swapLastTwo(t: TensorInfo, backend: WasmBackendLike): TensorInfo {
  const r = t.shape.length;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  const transpose = tf.getKernel('Transpose', 'wasm')!.kernelFunc as unknown as KernelFn;
  return transpose({ inputs: { x: t }, backend, attrs: { perm } });
}

/**
 * A·B with either operand transposed, on the XNNPACK path: the stock kernel falls back to a
 * naive loop for transposeA and transposeB. Aᵀ is materialised; for Bᵀ, either Bᵀ is
 * materialised or, when B has more rows than A, (B·Aᵀ)ᵀ is computed instead so the operand
 * XNNPACK packs (the right one) is the smaller.
 */
function matMulTransposed(args: KernelArgs, stock: KernelFn): TensorInfo | null {
  const { inputs, backend, attrs } = args;
  if ((!attrs.transposeA && !attrs.transposeB) || inputs.a.dtype !== 'float32') return null;
  const temps: TensorInfo[] = [];
  const keep = (t: TensorInfo) => {
    temps.push(t);
    return t;
  };
  const a = attrs.transposeA ? keep(swapLastTwo(inputs.a, backend)) : inputs.a;
  let b = inputs.b;
  const plain = { ...attrs, transposeA: false, transposeB: false };
  let out: TensorInfo;
  const r = a.shape.length;
  if (
    attrs.transposeB &&
    b.shape.length === r &&
    a.shape.slice(0, r - 2).every((d, i) => d === b.shape[i]) &&
    b.shape[r - 2] > a.shape[r - 2]
  ) {
    const prodT = keep(stock({ inputs: { a: b, b: keep(swapLastTwo(a, backend)) }, backend, attrs: plain }));
    out = swapLastTwo(prodT, backend);
  } else {
    if (attrs.transposeB) b = keep(swapLastTwo(b, backend));
    out = stock({ inputs: { a, b }, backend, attrs: plain });
  }
  temps.forEach((t) => backend.disposeData(t.dataId));
  return out;
}
