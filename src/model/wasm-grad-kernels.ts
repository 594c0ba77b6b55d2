// Gradient kernels the tfjs WASM backend lacks, so training runs on it at all (and fast).
//
// tfjs-backend-wasm 4.x ships Conv2D and Conv2DBackpropInput but no Conv2DBackpropFilter, so
// any conv layer's weight gradient throws there. We register one that reuses the backend's
// own fast kernels: the filter gradient of a stride-1 convolution is, for each kernel offset
// (i, j), the matrix product X_ij^T · dY, where X_ij is the input shifted by (i, j) (zero
// outside) flattened to [N·Ho·Wo, Cin] and dY is [N·Ho·Wo, Cout]. We build each X_ij directly
// on the WASM heap (a strided copy, no pad/slice kernels) and hand the product to the
// backend's BatchMatMul as dY^T · X_ij with dY^T transposed once up front: the wasm GEMM is
// ~10x slower with transposeA than on plain row-major operands (measured: 838 vs 83 ms for
// [48000x128]^T·[48000x128]). The small [Cout, Cin] results are transposed in JS at the end. Other strides/dilations fall back to the
// backend's native (slower, naive) Conv3DBackpropFilterV2 with a depth of 1.
//
// MaxPoolGrad, AvgPoolGrad, the element-wise and reduction kernels that BatchNorm, LSTM,
// dropout and softmax gradients need all exist on wasm already (checked in
// test/model-grad.test.ts by training a model end to end on the wasm backend).
import * as tf from '@tensorflow/tfjs';
import { backend_util, util } from '@tensorflow/tfjs';

type TensorInfo = { dataId: object; shape: number[]; dtype: string };
// The parts of BackendWasm we use; the class is not exported with these members typed.
interface WasmBackendLike {
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
  const conv3dFilter = tf.getKernel('Conv3DBackpropFilterV2', 'wasm');
  if (!matMul || !conv3dFilter || !transpose) return;
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ((args: { inputs: { x: TensorInfo; dy: TensorInfo }; backend: WasmBackendLike; attrs: Record<string, unknown> }) => {
      const { inputs: { x, dy }, backend, attrs } = args;
      const filterShape = attrs.filterShape as [number, number, number, number];
      const strides = attrs.strides as number | [number, number];
      const pad = attrs.pad as 'same' | 'valid' | number | number[][];
      const dataFormat = (attrs.dataFormat as string) ?? 'NHWC';
      const dimRoundingMode = attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined;
      const info = backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number], filterShape, strides, 1,
        pad as 'same', dimRoundingMode, false, backend_util.convertConv2DDataFormat(dataFormat as 'NHWC'),
      );
      if (info.strideHeight !== 1 || info.strideWidth !== 1 || info.dataFormat !== 'channelsLast' || Array.isArray(pad)) {
        return viaConv3d(conv3dFilter.kernelFunc as unknown as KernelFn, backend, x, dy, filterShape, strides, pad);
      }
      return perOffsetMatMul(matMul.kernelFunc as unknown as KernelFn, transpose.kernelFunc as unknown as KernelFn, backend, x, dy, info);
    }) as unknown as tf.KernelFunc,
  });
}

type KernelFn = (args: { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs: Record<string, unknown> }) => TensorInfo;

function perOffsetMatMul(matMul: KernelFn, transpose: KernelFn, backend: WasmBackendLike, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: cin, outHeight: ho, outWidth: wo, outChannels: cout, filterHeight: kh, filterWidth: kw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const rows = n * ho * wo;
  const out = backend.makeOutput([kh, kw, cin, cout], 'float32');
  const dyT = transpose({ inputs: { x: { dataId: dy.dataId, shape: [rows, cout], dtype: 'float32' } }, backend, attrs: { perm: [1, 0] } });
  const dyT3: TensorInfo = { dataId: dyT.dataId, shape: [1, cout, rows], dtype: 'float32' };
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      // A fresh tensor per offset: the wasm GEMM caches XNNPACK operators (packed right-hand
      // operands) by tensor id, so refilling one buffer would silently reuse stale weights.
      const shifted = backend.makeOutput([1, rows, cin], 'float32');
      // The heap may grow (and typed views detach) during any kernel: take fresh views each time.
      const xv = backend.typedArrayFromHeap(x);
      const sv = backend.typedArrayFromHeap(shifted);
      let r = 0;
      for (let b = 0; b < n; b++) {
        for (let oy = 0; oy < ho; oy++) {
          const iy = oy + i - top;
          if (iy < 0 || iy >= h) {
            sv.fill(0, r * cin, (r + wo) * cin);
            r += wo;
            continue;
          }
          // Valid ox for this offset form one contiguous run of input pixels: copy it in one go.
          const oxLo = Math.max(0, left - j);
          const oxHi = Math.min(wo, w + left - j);
          const rowStart = r * cin;
          if (oxLo > 0) sv.fill(0, rowStart, rowStart + oxLo * cin);
          if (oxHi > oxLo) {
            const src = ((b * h + iy) * w + oxLo + j - left) * cin;
            sv.set(xv.subarray(src, src + (oxHi - oxLo) * cin), rowStart + oxLo * cin);
          }
          if (oxHi < wo) sv.fill(0, rowStart + Math.max(oxHi, oxLo) * cin, rowStart + wo * cin);
          r += wo;
        }
      }
      const prod = matMul({ inputs: { a: dyT3, b: shifted }, backend, attrs: { transposeA: false, transposeB: false } });
      const pv = backend.typedArrayFromHeap({ ...prod, shape: [cout * cin] }); // [Cout][Cin]
      const ov = backend.typedArrayFromHeap(out);
      const base = (i * kw + j) * cin * cout;
      for (let co = 0; co < cout; co++) for (let ci = 0; ci < cin; ci++) ov[base + ci * cout + co] = pv[co * cin + ci];
      backend.disposeData(prod.dataId);
      backend.disposeData(shifted.dataId);
    }
  }
  backend.disposeData(dyT.dataId);
  return out;
}

function viaConv3d(kernel: KernelFn, backend: WasmBackendLike, x: TensorInfo, dy: TensorInfo,
  filterShape: [number, number, number, number], strides: number | [number, number], pad: 'same' | 'valid' | number | number[][]): TensorInfo {
  if (Array.isArray(pad) || typeof pad === 'number') throw new Error('Conv2DBackpropFilter (wasm): explicit/numeric padding is not supported');
  const [sh, sw] = typeof strides === 'number' ? [strides, strides] : strides;
  const x5: TensorInfo = { dataId: x.dataId, shape: [x.shape[0], 1, x.shape[1], x.shape[2], x.shape[3]], dtype: 'float32' };
  const dy5: TensorInfo = { dataId: dy.dataId, shape: [dy.shape[0], 1, dy.shape[1], dy.shape[2], dy.shape[3]], dtype: 'float32' };
  const res = kernel({ inputs: { x: x5, dy: dy5 }, backend, attrs: { strides: [1, sh, sw], pad, filterShape: [1, ...filterShape] } });
  return { dataId: res.dataId, shape: filterShape, dtype: 'float32' };
}

export const _internal = { util };
