// ONNX converters for the STA-CRNN's custom layers (src/model/layers.ts). Each mirrors the
// layer's call() op for op, so the exported graph computes what tfjs computes.
import { ints, int } from './graph.js';
import { registerConverter } from './keras-to-onnx.js';

// SpatialAttention: x · σ(conv_k×k([mean_c(x), max_c(x)]) + b), on an NCHW value.
registerConverter('SpatialAttention', (ctx, layer, [x0], outShape) => {
  const g = ctx.g;
  const x = ctx.nchw(x0);
  const w = ctx.weights(layer);
  const kernel = w.get('kernel')!; // [k, k, 2, 1]
  const [kh, kw, cin] = kernel.shape;
  // [kh, kw, cin, 1] → [1, cin, kh, kw]
  const W = new Float32Array(cin * kh * kw);
  for (let a = 0; a < kh; a++)
    for (let b = 0; b < kw; b++)
      for (let i = 0; i < cin; i++) {
        W[(i * kh + a) * kw + b] = kernel.data[(a * kw + b) * cin + i];
      }
  const B = w.get('bias')?.data ?? new Float32Array(1);
  const [h, wd] = [Number(x.shape[1]), Number(x.shape[2])];
  // TF "same" padding at stride 1: (k−1)/2 before, the rest after.
  const pt = Math.floor((kh - 1) / 2),
    pl = Math.floor((kw - 1) / 2);
  if (!(h > 0 && wd > 0)) throw new Error(`layer '${layer.name}': needs a static input shape`);
  const mean = g.op('ReduceMean', [x.name], { axes: ints([1]), keepdims: int(1) }, `${layer.name}.mean`);
  const max = g.op('ReduceMax', [x.name], { axes: ints([1]), keepdims: int(1) }, `${layer.name}.max`);
  const pooled = g.op('Concat', [mean, max], { axis: int(1) }, `${layer.name}.pooled`);
  const conv = g.op(
    'Conv',
    [pooled, g.constant(`${layer.name}.W`, W, [1, cin, kh, kw]), g.constant(`${layer.name}.B`, B, [1])],
    {
      kernel_shape: ints([kh, kw]),
      pads: ints([pt, pl, kh - 1 - pt, kw - 1 - pl]),
    },
    `${layer.name}.conv`,
  );
  const mask = g.op('Sigmoid', [conv], {}, `${layer.name}.mask`);
  return { name: g.op('Mul', [x.name, mask], {}, layer.name), nchw: true, shape: outShape };
});

// TemporalAttention: μ = softmax_t(h·W), output Σ_t μ_t·h_t, as one batched MatMul μᵀ·h.
registerConverter('TemporalAttention', (ctx, layer, [x0], outShape) => {
  const g = ctx.g;
  const h = ctx.keras(x0); // [N, T, D]
  const k = ctx.weights(layer).get('kernel')!; // [D, 1]
  const scores = g.op('MatMul', [h.name, g.constant(`${layer.name}.W`, k.data, k.shape)], {}, `${layer.name}.scores`); // [N, T, 1]
  const mu = g.op('Softmax', [scores], { axis: int(1) }, `${layer.name}.weights`);
  const muT = g.op('Transpose', [mu], { perm: ints([0, 2, 1]) }); // [N, 1, T]
  const pooled = g.op('MatMul', [muT, h.name], {}, `${layer.name}.pool`); // [N, 1, D]
  const y = g.op('Reshape', [pooled, g.int64(`${layer.name}.shape`, [0, -1])], {}, layer.name);
  return { name: y, nchw: false, shape: outShape };
});
