// Gradient kernels the tfjs WASM backend lacks, so training runs on it at all (and fast).
//
// tfjs-backend-wasm 4.x ships Conv2D and Conv2DBackpropInput but no Conv2DBackpropFilter, so
// any conv layer's weight gradient throws there. We register one that reuses the backend's
// own GEMM: the filter gradient is colsᵀ·dY, with colsᵀ[kh·kw·Cin, N·Ho·Wo] the transposed
// im2col of the input (built directly on the WASM heap) and dY [N·Ho·Wo, Cout] as it is; the
// product is already in the filter's [kh, kw, Cin, Cout] layout. Very large inputs fall back
// to one GEMM per kernel offset, dYᵀ·X_ij, to bound the scratch buffer.
//
// Conv2DBackpropInput exists on wasm but is a naive loop (it was 2/3 of a training step's
// kernel time); for stride 1 we replace it by the forward convolution of dY with the
// spatially flipped, in/out-swapped filter (padding mirrored), which runs on XNNPACK.
//
// FusedBatchNorm's stock gradient (tfjs-core) tiles the [C] statistics up to the full
// activation shape before multiplying; registerFastBatchNormGrad swaps in the same maths
// with broadcasting (backend-independent; it also helps tfjs-node and cpu).
//
// MaxPoolGrad, AvgPoolGrad, the element-wise and reduction kernels that BatchNorm, LSTM,
// dropout and softmax gradients need all exist on wasm already (checked in
// test/model-grad.test.ts by training a model end to end on the wasm backend).
import * as tf from '@tensorflow/tfjs';
import { backend_util } from '@tensorflow/tfjs';

export type TensorInfo = { dataId: object; shape: number[]; dtype: string };
// The parts of BackendWasm we use; the class is not exported with these members typed.
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
  disposeData(dataId: object, force?: boolean): boolean;
}

let registered = false;

export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm')) return;
  const matMul = tf.getKernel('BatchMatMul', 'wasm');
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (!matMul || !transpose) return;
  const conv2d = tf.getKernel('Conv2D', 'wasm');
  const nativeInput = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (conv2d && nativeInput) {
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
    tf.registerKernel({
      kernelName: 'Conv2DBackpropInput',
      backendName: 'wasm',
      kernelFunc: ((args: { inputs: { dy: TensorInfo; filter: TensorInfo }; backend: WasmBackendLike; attrs: Record<string, unknown> }) => {
        const {
          inputs: { dy, filter },
          backend,
          attrs,
        } = args;
        const inputShape = attrs.inputShape as [number, number, number, number];
        const strides = attrs.strides as number | [number, number];
        const pad = attrs.pad as 'same' | 'valid' | number;
        const dataFormat = (attrs.dataFormat as string) ?? 'NHWC';
        const info = backend_util.computeConv2DInfo(
          inputShape,
          filter.shape as [number, number, number, number],
          strides,
          1,
          pad as 'same',
          attrs.dimRoundingMode as 'floor' | undefined,
          false,
          backend_util.convertConv2DDataFormat(dataFormat as 'NHWC'),
        );
        if (info.strideHeight !== 1 || info.strideWidth !== 1 || info.dataFormat !== 'channelsLast') {
          return (nativeInput.kernelFunc as unknown as KernelFn)(args as never);
        }
        return inputGradViaConv(conv2d.kernelFunc as unknown as KernelFn, backend, dy, filter, info);
      }) as unknown as tf.KernelFunc,
    });
  }
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ((args: { inputs: { x: TensorInfo; dy: TensorInfo }; backend: WasmBackendLike; attrs: Record<string, unknown> }) => {
      const {
        inputs: { x, dy },
        backend,
        attrs,
      } = args;
      const filterShape = attrs.filterShape as [number, number, number, number];
      const strides = attrs.strides as number | [number, number];
      const pad = attrs.pad as 'same' | 'valid' | number | number[][];
      const dataFormat = (attrs.dataFormat as string) ?? 'NHWC';
      const dimRoundingMode = attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined;
      const info = backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        filterShape,
        strides,
        1,
        pad as 'same',
        dimRoundingMode,
        false,
        backend_util.convertConv2DDataFormat(dataFormat as 'NHWC'),
      );
      if (info.dataFormat !== 'channelsLast' || info.dilationHeight !== 1 || info.dilationWidth !== 1) {
        throw new Error('Conv2DBackpropFilter (wasm): only NHWC without dilation is supported');
      }
      const mm = matMul.kernelFunc as unknown as KernelFn;
      if (info.filterHeight * info.filterWidth * info.inChannels * info.batchSize * info.outHeight * info.outWidth <= im2colMaxFloats()) {
        return transposedIm2colMatMul(mm, backend, x, dy, info);
      }
      return perOffsetMatMul(mm, transpose.kernelFunc as unknown as KernelFn, backend, x, dy, info);
    }) as unknown as tf.KernelFunc,
  });
}

export type KernelArgs = { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs: Record<string, unknown> };
export type KernelFn = (args: KernelArgs) => TensorInfo;

/** Largest transposed im2col buffer (floats; 256 MB) before falling back to one GEMM per offset.
 * EMOSTREAM_IM2COL_MAX_FLOATS overrides it (the tests use 0 to exercise the fallback). */
const im2colMaxFloats = () => Number(process.env.EMOSTREAM_IM2COL_MAX_FLOATS ?? 64 * 1024 * 1024);

/**
 * Filter gradient as one GEMM: colsᵀ[kh·kw·Cin, rows] · dY[rows, Cout] = dW[kh, kw, Cin, Cout],
 * already in the filter's layout. dY is the GEMM's right operand as it stands (XNNPACK packs it
 * once, no transpose), and the wide left operand keeps the microkernel tiles full even for
 * Cin = 3, where one GEMM per offset has a 3-column right operand. Measured on conv 1 at width
 * 0.125 (batch 32): 170 ms per offset, ~70 ms here.
 */
function transposedIm2colMatMul(
  matMul: KernelFn,
  backend: WasmBackendLike,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const {
    batchSize: n,
    inHeight: h,
    inWidth: w,
    inChannels: cin,
    outHeight: ho,
    outWidth: wo,
    outChannels: cout,
    filterHeight: kh,
    filterWidth: kw,
  } = info;
  const sh = info.strideHeight,
    sw = info.strideWidth,
    top = info.padInfo.top,
    left = info.padInfo.left;
  const rows = n * ho * wo;
  const cols = backend.makeOutput([1, kh * kw * cin, rows], 'float32');
  const xv = backend.typedArrayFromHeap(x);
  const cv = backend.typedArrayFromHeap(cols);
  cv.fill(0);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const oxLo = Math.max(0, Math.ceil((left - j) / sw));
      const oxHi = Math.min(wo, Math.floor((w - 1 + left - j) / sw) + 1);
      if (oxHi <= oxLo) continue;
      const row0 = (i * kw + j) * cin;
      for (let b = 0; b < n; b++) {
        for (let oy = 0; oy < ho; oy++) {
          const iy = oy * sh + i - top;
          if (iy < 0 || iy >= h) continue;
          // One input row (w·Cin floats) is read Cin times: it stays in L1.
          const src = ((b * h + iy) * w + oxLo * sw + j - left) * cin;
          const dst = (b * ho + oy) * wo + oxLo;
          const step = sw * cin;
          for (let ci = 0; ci < cin; ci++) {
            const d = (row0 + ci) * rows + dst;
            for (let p = 0, s0 = src + ci; p < oxHi - oxLo; p++, s0 += step) cv[d + p] = xv[s0];
          }
        }
      }
    }
  }
  const dy3: TensorInfo = { dataId: dy.dataId, shape: [1, rows, cout], dtype: 'float32' };
  const prod = matMul({ inputs: { a: cols, b: dy3 }, backend, attrs: { transposeA: false, transposeB: false } });
  backend.disposeData(cols.dataId);
  return { dataId: prod.dataId, shape: [kh, kw, cin, cout], dtype: 'float32' };
}

/** Offsets per GEMM on the fallback path: grouping offsets into a [rows, g·Cin] right operand
 * was no faster (the wasm GEMM repacks its right operand each call), so 1 unless
 * EMOSTREAM_BPF_GROUP says otherwise (kept for re-measuring on other machines). */
function groupSize(k: number, rows: number, cin: number): number {
  const want = Number(process.env.EMOSTREAM_BPF_GROUP ?? 1);
  const cap = Math.floor((32 * 1024 * 1024) / (rows * cin)); // ≤ 128 MB of scratch
  return Math.max(1, Math.min(k, want, cap));
}

function perOffsetMatMul(
  matMul: KernelFn,
  transpose: KernelFn,
  backend: WasmBackendLike,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const {
    batchSize: n,
    inHeight: h,
    inWidth: w,
    inChannels: cin,
    outHeight: ho,
    outWidth: wo,
    outChannels: cout,
    filterHeight: kh,
    filterWidth: kw,
  } = info;
  const sh = info.strideHeight,
    sw = info.strideWidth;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const rows = n * ho * wo;
  const out = backend.makeOutput([kh, kw, cin, cout], 'float32');
  const dyT = transpose({ inputs: { x: { dataId: dy.dataId, shape: [rows, cout], dtype: 'float32' } }, backend, attrs: { perm: [1, 0] } });
  const dyT3: TensorInfo = { dataId: dyT.dataId, shape: [1, cout, rows], dtype: 'float32' };
  // Offsets are processed in groups of g: one GEMM [Cout, rows]·[rows, g·Cin] per group. With
  // few input channels (conv 1 has 3) one group of all offsets (im2col) keeps the GEMM wide;
  // with many, one offset at a time bounds the scratch buffer.
  const k = kh * kw;
  const g = groupSize(k, rows, cin);
  for (let k0 = 0; k0 < k; k0 += g) {
    const gn = Math.min(g, k - k0);
    const stride = gn * cin;
    // A fresh tensor per group: the wasm GEMM caches XNNPACK operators (packed right-hand
    // operands) by tensor id, so refilling one buffer would silently reuse stale weights.
    const shifted = backend.makeOutput([1, rows, stride], 'float32');
    // The heap may grow (and typed views detach) during any kernel: take fresh views each time.
    const xv = backend.typedArrayFromHeap(x);
    const sv = backend.typedArrayFromHeap(shifted);
    sv.fill(0);
    for (let q = 0; q < gn; q++) {
      const i = Math.floor((k0 + q) / kw);
      const j = (k0 + q) % kw;
      // Valid ox for this offset (ix = ox·sw + j − left in [0, w)) form one run of input
      // pixels, contiguous when sw = 1.
      const oxLo = Math.max(0, Math.ceil((left - j) / sw));
      const oxHi = Math.min(wo, Math.floor((w - 1 + left - j) / sw) + 1);
      if (oxHi <= oxLo) continue;
      for (let b = 0; b < n; b++) {
        for (let oy = 0; oy < ho; oy++) {
          const iy = oy * sh + i - top;
          if (iy < 0 || iy >= h) continue;
          const src = ((b * h + iy) * w + oxLo * sw + j - left) * cin;
          const dst = ((b * ho + oy) * wo + oxLo) * stride + q * cin;
          if (gn === 1 && sw === 1) {
            sv.set(xv.subarray(src, src + (oxHi - oxLo) * cin), dst);
          } else {
            for (let p = 0; p < oxHi - oxLo; p++) {
              const s0 = src + p * sw * cin;
              const d0 = dst + p * stride;
              for (let c = 0; c < cin; c++) sv[d0 + c] = xv[s0 + c];
            }
          }
        }
      }
    }
    const prod = matMul({ inputs: { a: dyT3, b: shifted }, backend, attrs: { transposeA: false, transposeB: false } });
    const pv = backend.typedArrayFromHeap({ ...prod, shape: [cout * stride] }); // [Cout][gn·Cin]
    const ov = backend.typedArrayFromHeap(out);
    for (let q = 0; q < gn; q++) {
      const base = (k0 + q) * cin * cout;
      for (let co = 0; co < cout; co++) for (let ci = 0; ci < cin; ci++) ov[base + ci * cout + co] = pv[co * stride + q * cin + ci];
    }
    backend.disposeData(prod.dataId);
    backend.disposeData(shifted.dataId);
  }
  backend.disposeData(dyT.dataId);
  return out;
}

function inputGradViaConv(
  conv2d: KernelFn,
  backend: WasmBackendLike,
  dy: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const { filterHeight: kh, filterWidth: kw, inChannels: cin, outChannels: cout } = info;
  const flipped = backend.makeOutput([kh, kw, cout, cin], 'float32');
  const f = backend.typedArrayFromHeap(filter);
  const g = backend.typedArrayFromHeap(flipped);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const src = ((kh - 1 - i) * kw + (kw - 1 - j)) * cin * cout;
      const dst = (i * kw + j) * cout * cin;
      for (let ci = 0; ci < cin; ci++) for (let co = 0; co < cout; co++) g[dst + co * cin + ci] = f[src + ci * cout + co];
    }
  }
  const p = info.padInfo;
  const pad = [
    [0, 0],
    [kh - 1 - p.top, kh - 1 - p.bottom],
    [kw - 1 - p.left, kw - 1 - p.right],
    [0, 0],
  ];
  const dx = conv2d({
    inputs: { x: dy, filter: flipped },
    backend,
    attrs: { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1] },
  });
  backend.disposeData(flipped.dataId);
  return dx;
}

/** FusedBatchNorm gradient with broadcasting instead of tiling (same maths as tfjs-core's). */
export function registerFastBatchNormGrad(): void {
  tf.registerGradient({
    kernelName: 'FusedBatchNorm',
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const g = dy as tf.Tensor;
      const varianceEpsilon = attrs.varianceEpsilon as number;
      const [x, mean, variance, scale] = saved;
      const scaleValue = scale == null ? tf.scalar(1) : scale;
      const axes = backend_util.getReductionAxes(mean.shape, x.shape);
      // Channel sums over the leading axes: wasm-fast-kernels.ts makes this Sum a plain loop.
      const reduce = (t: tf.Tensor) => tf.reshape(mean.rank === 1 ? tf.sum(t, axes) : t, mean.shape);
      const inv = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
      const xMinusMean = tf.sub(x, mean);
      const dyScaled = tf.mul(g, scaleValue);
      return {
        x: () => tf.mul(dyScaled, inv),
        mean: () => reduce(tf.mul(dyScaled, tf.neg(inv))),
        variance: () => reduce(tf.mul(tf.mul(xMinusMean, dyScaled), tf.mul(tf.pow(inv, 3), -0.5))),
        scale: () => reduce(tf.mul(g, tf.mul(xMinusMean, inv))),
        offset: () => reduce(g),
      };
    },
  });
}
