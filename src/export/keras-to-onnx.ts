// Converts a tfjs-layers model (functional or sequential) into an ONNX graph, layer by layer,
// from its weights and configs alone (no tracing). Keras keeps images NHWC; ONNX's Conv and
// pooling are NCHW, so 4-D values are held NCHW inside the graph and transposed back only
// where a layer's meaning depends on the Keras layout (Reshape, Flatten, Permute, Dense).
import type * as tfjs from '@tensorflow/tfjs';
import { float, floats, GraphBuilder, int, ints, str, type Attr } from './graph.js';
import { MIN_STD } from '../dsp/normalize.js';

type Layer = tfjs.layers.Layer;
type Shape = (number | null)[];

/** A value in the graph being built: its name, whether a 4-D value is stored NCHW, and its Keras shape. */
export interface Val {
  name: string;
  nchw: boolean;
  /** Keras (NHWC, batch first, batch null) shape. */
  shape: Shape;
}

export interface ConvertContext {
  g: GraphBuilder;
  /** Keras layout of a value (transposes NCHW back to NHWC). */
  keras(v: Val): Val;
  /** NCHW layout of a 4-D value. */
  nchw(v: Val): Val;
  /** Float32 weights of a layer, by the last part of their name (kernel, bias, gamma…). */
  weights(layer: Layer): Map<string, { data: Float32Array; shape: number[] }>;
  /** Applies a Keras activation by name to a value (channel axis aware). */
  activation(v: Val, name: string | undefined): Val;
}

/** Converts one layer: inputs (in call order) → outputs. Custom layers register their own. */
export type LayerConverter = (ctx: ConvertContext, layer: Layer, inputs: Val[], outShape: Shape) => Val;

const converters = new Map<string, LayerConverter>();

export function registerConverter(className: string, fn: LayerConverter): void {
  converters.set(className, fn);
}

export class UnsupportedLayerError extends Error {
  constructor(
    readonly layerName: string,
    readonly className: string,
    why: string,
  ) {
    super(`layer '${layerName}' (${className}): ${why}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

const cfg = (layer: Layer) => layer.getConfig() as Record<string, unknown>;
const pair = (v: unknown, name: string): [number, number] => {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2) return [Number(v[0]), Number(v[1])];
  throw new Error(`bad ${name}: ${JSON.stringify(v)}`);
};

/** TensorFlow's "same" padding for one spatial axis: the odd pixel goes at the end. */
function samePads(size: number, k: number, stride: number, dilation: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function pads2d(layer: Layer, shape: Shape, kernel: [number, number], strides: [number, number], dil: [number, number]): number[] {
  const padding = String(cfg(layer).padding ?? 'valid');
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding !== 'same') throw new UnsupportedLayerError(layer.name, layer.getClassName(), `padding '${padding}'`);
  const [h, w] = [shape[1], shape[2]];
  if (h == null || w == null)
    throw new UnsupportedLayerError(layer.name, layer.getClassName(), "'same' padding needs static height and width");
  const [t, b] = samePads(h, kernel[0], strides[0], dil[0]);
  const [l, r] = samePads(w, kernel[1], strides[1], dil[1]);
  return [t, l, b, r];
}

/** Keras axis (possibly negative, batch = 0) of a 4-D tensor → the NCHW axis. */
export function nchwAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (rank !== 4) return a;
  return [0, 2, 3, 1][a];
}

// Keras LSTM gates are packed i, f, c, o; ONNX LSTM packs i, o, f, c.
const KERAS_GATE_FOR_ONNX = [0, 3, 1, 2];

/** Keras kernel [in, 4u] (columns i,f,c,o) → ONNX W [4u, in] (rows i,o,f,c). */
export function lstmKernelToOnnx(k: Float32Array, inputSize: number, units: number): Float32Array {
  const out = new Float32Array(4 * units * inputSize);
  for (let og = 0; og < 4; og++) {
    const kg = KERAS_GATE_FOR_ONNX[og];
    for (let j = 0; j < units; j++) {
      const row = (og * units + j) * inputSize;
      const col = kg * units + j;
      for (let i = 0; i < inputSize; i++) out[row + i] = k[i * 4 * units + col];
    }
  }
  return out;
}

/** Keras bias [4u] (i,f,c,o) → ONNX [Wb (i,o,f,c), Rb = 0] of 8u. */
export function lstmBiasToOnnx(b: Float32Array | undefined, units: number): Float32Array {
  const out = new Float32Array(8 * units);
  if (!b) return out;
  for (let og = 0; og < 4; og++) {
    const kg = KERAS_GATE_FOR_ONNX[og];
    out.set(b.subarray(kg * units, (kg + 1) * units), og * units);
  }
  return out;
}

/** ONNX LSTM activation names (with the alpha/beta they need) for a Keras activation name. */
function rnnActivation(layer: Layer, name: string): { name: string; alpha?: number; beta?: number } {
  switch (name) {
    case 'sigmoid':
      return { name: 'Sigmoid' };
    case 'tanh':
      return { name: 'Tanh' };
    case 'relu':
      return { name: 'Relu' };
    // tfjs: clip(0.2·x + 0.5, 0, 1), ONNX HardSigmoid with the same constants.
    case 'hardSigmoid':
    case 'hard_sigmoid':
      return { name: 'HardSigmoid', alpha: 0.2, beta: 0.5 };
    case 'linear':
      return { name: 'Affine', alpha: 1, beta: 0 };
    case 'softsign':
      return { name: 'Softsign' };
    case 'softplus':
      return { name: 'Softplus' };
    default:
      throw new UnsupportedLayerError(layer.name, layer.getClassName(), `recurrent activation '${name}'`);
  }
}

// ---------------------------------------------------------------------------------------------
// Built-in Keras layers

function conv2d(ctx: ConvertContext, layer: Layer, [x]: Val[], outShape: Shape, bn?: Layer): Val {
  const c = cfg(layer);
  if (c.dataFormat && c.dataFormat !== 'channelsLast') throw new UnsupportedLayerError(layer.name, 'Conv2D', 'channelsFirst data');
  const w = ctx.weights(layer);
  const kernel = w.get('kernel')!;
  const [kh, kw, cin, cout] = kernel.shape;
  const strides = pair(c.strides ?? 1, 'strides');
  const dil = pair(c.dilationRate ?? 1, 'dilationRate');
  // Kernel [kh, kw, cin, cout] → ONNX [cout, cin, kh, kw].
  const W = new Float32Array(cout * cin * kh * kw);
  for (let a = 0; a < kh; a++)
    for (let b = 0; b < kw; b++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++) {
          W[((o * cin + i) * kh + a) * kw + b] = kernel.data[((a * kw + b) * cin + i) * cout + o];
        }
  const B = new Float32Array(cout);
  const bias = w.get('bias');
  if (bias) B.set(bias.data);
  if (bn) {
    // y = γ·(conv + b − μ)/√(σ² + ε) + β  →  conv with W·s and (b − μ)·s + β, s = γ/√(σ² + ε).
    const { scale, shift } = bnAffine(ctx, bn);
    for (let o = 0; o < cout; o++) {
      for (let k = 0; k < cin * kh * kw; k++) W[o * cin * kh * kw + k] *= scale[o];
      B[o] = B[o] * scale[o] + shift[o];
    }
  }
  const xin = ctx.nchw(x);
  const y = ctx.g.op(
    'Conv',
    [xin.name, ctx.g.constant(`${layer.name}.W`, W, [cout, cin, kh, kw]), ctx.g.constant(`${layer.name}.B`, B, [cout])],
    {
      kernel_shape: ints([kh, kw]),
      strides: ints(strides),
      dilations: ints(dil),
      pads: ints(pads2d(layer, x.shape, [kh, kw], strides, dil)),
    },
    layer.name,
  );
  const out: Val = { name: y, nchw: true, shape: outShape };
  // With BatchNorm folded, the conv's own activation must be linear (checked by the caller).
  return ctx.activation(out, c.activation as string | undefined);
}

/** BatchNorm as a per-channel affine map y = scale·x + shift (inference statistics). */
function bnAffine(ctx: ConvertContext, layer: Layer): { scale: Float32Array; shift: Float32Array } {
  const c = cfg(layer);
  const w = ctx.weights(layer);
  const mean = w.get('moving_mean')!.data;
  const variance = w.get('moving_variance')!.data;
  const n = mean.length;
  const gamma = w.get('gamma')?.data ?? new Float32Array(n).fill(1);
  const beta = w.get('beta')?.data ?? new Float32Array(n);
  const eps = Number(c.epsilon ?? 1e-3);
  const scale = new Float32Array(n);
  const shift = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    scale[i] = gamma[i] / Math.sqrt(variance[i] + eps);
    shift[i] = beta[i] - mean[i] * scale[i];
  }
  return { scale, shift };
}

function batchNorm(ctx: ConvertContext, layer: Layer, [x]: Val[], outShape: Shape): Val {
  const rank = x.shape.length;
  const axis = Number(cfg(layer).axis ?? -1);
  if ((axis < 0 ? axis + rank : axis) !== rank - 1)
    throw new UnsupportedLayerError(layer.name, 'BatchNormalization', `axis ${axis} (only the channel axis)`);
  const { scale, shift } = bnAffine(ctx, layer);
  const n = scale.length;
  // Broadcast over the channel axis: [C,1,1] for NCHW values, [C] (last axis) otherwise.
  const dims = x.nchw && rank === 4 ? [n, 1, 1] : [n];
  const y = ctx.g.op(
    'Add',
    [ctx.g.op('Mul', [x.name, ctx.g.constant(`${layer.name}.scale`, scale, dims)]), ctx.g.constant(`${layer.name}.shift`, shift, dims)],
    {},
    layer.name,
  );
  return { name: y, nchw: x.nchw, shape: outShape };
}

function pool2d(op: 'MaxPool' | 'AveragePool') {
  return (ctx: ConvertContext, layer: Layer, [x]: Val[], outShape: Shape): Val => {
    const c = cfg(layer);
    const k = pair(c.poolSize ?? 2, 'poolSize');
    const s = pair(c.strides ?? k, 'strides');
    const attrs: Record<string, Attr> = {
      kernel_shape: ints(k),
      strides: ints(s),
      pads: ints(pads2d(layer, x.shape, k, s, [1, 1])),
    };
    // TF's "same" average pooling divides by the number of real (unpadded) pixels.
    if (op === 'AveragePool') attrs.count_include_pad = int(0);
    const y = ctx.g.op(op, [ctx.nchw(x).name], attrs, layer.name);
    return { name: y, nchw: true, shape: outShape };
  };
}

function dense(ctx: ConvertContext, layer: Layer, [x0]: Val[], outShape: Shape): Val {
  const x = ctx.keras(x0);
  const c = cfg(layer);
  const w = ctx.weights(layer);
  const k = w.get('kernel')!;
  const b = w.get('bias');
  let y: string;
  if (x.shape.length === 2) {
    const inputs = [x.name, ctx.g.constant(`${layer.name}.W`, k.data, k.shape)];
    if (b) inputs.push(ctx.g.constant(`${layer.name}.B`, b.data, b.shape));
    y = ctx.g.op('Gemm', inputs, {}, layer.name);
  } else {
    y = ctx.g.op('MatMul', [x.name, ctx.g.constant(`${layer.name}.W`, k.data, k.shape)], {}, layer.name);
    if (b) y = ctx.g.op('Add', [y, ctx.g.constant(`${layer.name}.B`, b.data, b.shape)]);
  }
  return ctx.activation({ name: y, nchw: false, shape: outShape }, c.activation as string | undefined);
}

function reshape(ctx: ConvertContext, layer: Layer, [x0]: Val[], outShape: Shape): Val {
  const x = ctx.keras(x0);
  const target = (cfg(layer).targetShape as number[]).map(Number);
  // 0 copies the batch dimension (allowzero = 0, the default).
  const y = ctx.g.op('Reshape', [x.name, ctx.g.int64(`${layer.name}.shape`, [0, ...target])], {}, layer.name);
  return { name: y, nchw: false, shape: outShape };
}

function flatten(ctx: ConvertContext, layer: Layer, [x0]: Val[], outShape: Shape): Val {
  const x = ctx.keras(x0);
  return { name: ctx.g.op('Flatten', [x.name], { axis: int(1) }, layer.name), nchw: false, shape: outShape };
}

function permute(ctx: ConvertContext, layer: Layer, [x0]: Val[], outShape: Shape): Val {
  const x = ctx.keras(x0);
  const dims = (cfg(layer).dims as number[]).map(Number);
  return { name: ctx.g.op('Transpose', [x.name], { perm: ints([0, ...dims]) }, layer.name), nchw: false, shape: outShape };
}

function identity(_ctx: ConvertContext, _layer: Layer, [x]: Val[], outShape: Shape): Val {
  return { ...x, shape: outShape };
}

function activationLayer(ctx: ConvertContext, layer: Layer, [x]: Val[], outShape: Shape): Val {
  return { ...ctx.activation(x, cfg(layer).activation as string), shape: outShape };
}

function reluLayer(ctx: ConvertContext, layer: Layer, [x]: Val[], outShape: Shape): Val {
  const c = cfg(layer);
  if (c.maxValue != null) {
    const y = ctx.g.op(
      'Clip',
      [x.name, ctx.g.constant(`${layer.name}.min`, [0], []), ctx.g.constant(`${layer.name}.max`, [Number(c.maxValue)], [])],
      {},
      layer.name,
    );
    return { ...x, name: y, shape: outShape };
  }
  return { ...ctx.activation(x, 'relu'), shape: outShape };
}

function softmaxLayer(ctx: ConvertContext, layer: Layer, [x]: Val[], outShape: Shape): Val {
  const axis = Number(cfg(layer).axis ?? -1);
  const a = x.nchw ? nchwAxis(axis, x.shape.length) : axis;
  return { ...x, name: ctx.g.op('Softmax', [x.name], { axis: int(a) }, layer.name), shape: outShape };
}

/** Brings several inputs to one layout: NCHW if they are all 4-D, Keras otherwise. */
function common(ctx: ConvertContext, xs: Val[]): Val[] {
  const allImages = xs.every((v) => v.shape.length === 4);
  return xs.map((v) => (allImages ? ctx.nchw(v) : ctx.keras(v)));
}

function merge(op: 'Add' | 'Mul' | 'Sub' | 'Max' | 'Min' | 'Mean') {
  return (ctx: ConvertContext, layer: Layer, xs: Val[], outShape: Shape): Val => {
    const ys = common(ctx, xs);
    const name = ctx.g.op(
      op,
      ys.map((v) => v.name),
      {},
      layer.name,
    );
    return { name, nchw: ys[0].nchw, shape: outShape };
  };
}

function concatenate(ctx: ConvertContext, layer: Layer, xs: Val[], outShape: Shape): Val {
  const ys = common(ctx, xs);
  const rank = outShape.length;
  const axis = Number(cfg(layer).axis ?? -1);
  const a = ys[0].nchw ? nchwAxis(axis, rank) : axis < 0 ? axis + rank : axis;
  return {
    name: ctx.g.op(
      'Concat',
      ys.map((v) => v.name),
      { axis: int(a) },
      layer.name,
    ),
    nchw: ys[0].nchw,
    shape: outShape,
  };
}

function globalPool(op: 'ReduceMean' | 'ReduceMax', dims: 1 | 2) {
  return (ctx: ConvertContext, layer: Layer, [x]: Val[], outShape: Shape): Val => {
    const v = dims === 2 ? ctx.nchw(x) : ctx.keras(x);
    const axes = dims === 2 ? [2, 3] : [1];
    return { name: ctx.g.op(op, [v.name], { axes: ints(axes), keepdims: int(0) }, layer.name), nchw: false, shape: outShape };
  };
}

/** LSTM weights of one direction in ONNX layout. */
function lstmDirection(ctx: ConvertContext, lstm: Layer, inputSize: number) {
  const w = ctx.weights(lstm);
  const units = Number(cfg(lstm).units);
  return {
    units,
    W: lstmKernelToOnnx(w.get('kernel')!.data, inputSize, units),
    R: lstmKernelToOnnx(w.get('recurrent_kernel')!.data, units, units),
    B: lstmBiasToOnnx(w.get('bias')?.data, units),
  };
}

function concatArrays(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function emitLstm(ctx: ConvertContext, layer: Layer, x0: Val, outShape: Shape, dirs: Layer[], direction: 'forward' | 'bidirectional'): Val {
  const x = ctx.keras(x0);
  if (x.shape.length !== 3) throw new UnsupportedLayerError(layer.name, layer.getClassName(), 'input must be [batch, time, features]');
  const c = cfg(dirs[0]);
  if (c.goBackwards && direction === 'forward') throw new UnsupportedLayerError(layer.name, 'LSTM', 'goBackwards');
  if (c.returnState || c.stateful) throw new UnsupportedLayerError(layer.name, 'LSTM', 'returnState/stateful');
  const inputSize = Number(x.shape[2]);
  const parts = dirs.map((d) => lstmDirection(ctx, d, inputSize));
  const units = parts[0].units;
  const nd = dirs.length;
  const acts = dirs.flatMap((d) => {
    const dc = cfg(d);
    const g = String(dc.activation ?? 'tanh');
    return [rnnActivation(layer, String(dc.recurrentActivation ?? 'hardSigmoid')), rnnActivation(layer, g), rnnActivation(layer, g)];
  });
  const attrs: Record<string, Attr> = {
    hidden_size: int(units),
    direction: str(direction),
    activations: { strings: acts.map((a) => a.name) },
  };
  // ORT consumes alphas/betas in order, only for the activations that take them.
  const alphas = acts.filter((a) => a.alpha !== undefined).map((a) => a.alpha!);
  const betas = acts.filter((a) => a.beta !== undefined).map((a) => a.beta!);
  if (alphas.length) attrs.activation_alpha = floats(alphas);
  if (betas.length) attrs.activation_beta = floats(betas);
  const g = ctx.g;
  const seqFirst = g.op('Transpose', [x.name], { perm: ints([1, 0, 2]) }, `${layer.name}.to_time_major`);
  const [Y, Yh] = g.node(
    'LSTM',
    [
      seqFirst,
      g.constant(`${layer.name}.W`, concatArrays(parts.map((p) => p.W)), [nd, 4 * units, inputSize]),
      g.constant(`${layer.name}.R`, concatArrays(parts.map((p) => p.R)), [nd, 4 * units, units]),
      g.constant(`${layer.name}.B`, concatArrays(parts.map((p) => p.B)), [nd, 8 * units]),
    ],
    attrs,
    2,
    layer.name,
  );
  let y: string;
  if (c.returnSequences) {
    // Y [time, dir, batch, units] → [batch, time, dir·units]: forward then backward, as Keras concatenates.
    const t = g.op('Transpose', [Y], { perm: ints([2, 0, 1, 3]) });
    y = g.op('Reshape', [t, g.int64(`${layer.name}.seq_shape`, [0, 0, nd * units])]);
  } else {
    const t = g.op('Transpose', [Yh], { perm: ints([1, 0, 2]) });
    y = g.op('Reshape', [t, g.int64(`${layer.name}.last_shape`, [0, nd * units])]);
  }
  return { name: y, nchw: false, shape: outShape };
}

function lstm(ctx: ConvertContext, layer: Layer, [x]: Val[], outShape: Shape): Val {
  return emitLstm(ctx, layer, x, outShape, [layer], 'forward');
}

function bidirectional(ctx: ConvertContext, layer: Layer, [x]: Val[], outShape: Shape): Val {
  const c = cfg(layer);
  const bi = layer as unknown as { forwardLayer: Layer; backwardLayer: Layer };
  const inner = (c.layer as { className: string }).className;
  if (inner !== 'LSTM') throw new UnsupportedLayerError(layer.name, 'Bidirectional', `wrapped ${inner} (only LSTM)`);
  if ((c.mergeMode ?? 'concat') !== 'concat')
    throw new UnsupportedLayerError(layer.name, 'Bidirectional', `mergeMode '${c.mergeMode}' (only concat)`);
  return emitLstm(ctx, layer, x, outShape, [bi.forwardLayer, bi.backwardLayer], 'bidirectional');
}

for (const [name, fn] of Object.entries({
  Conv2D: (ctx, layer, xs, s) => conv2d(ctx, layer, xs, s),
  BatchNormalization: batchNorm,
  MaxPooling2D: pool2d('MaxPool'),
  AveragePooling2D: pool2d('AveragePool'),
  Dense: dense,
  Reshape: reshape,
  Flatten: flatten,
  Permute: permute,
  Dropout: identity,
  SpatialDropout1D: identity,
  SpatialDropout2D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
  Activation: activationLayer,
  ReLU: reluLayer,
  Softmax: softmaxLayer,
  Add: merge('Add'),
  Multiply: merge('Mul'),
  Subtract: merge('Sub'),
  Maximum: merge('Max'),
  Minimum: merge('Min'),
  Average: merge('Mean'),
  Concatenate: concatenate,
  GlobalAveragePooling2D: globalPool('ReduceMean', 2),
  GlobalMaxPooling2D: globalPool('ReduceMax', 2),
  GlobalAveragePooling1D: globalPool('ReduceMean', 1),
  GlobalMaxPooling1D: globalPool('ReduceMax', 1),
  LSTM: lstm,
  Bidirectional: bidirectional,
} satisfies Record<string, LayerConverter>))
  registerConverter(name, fn);

// ---------------------------------------------------------------------------------------------
// The model walk

export interface ConvertOptions {
  /** Graph input name and output name. */
  inputName?: string;
  outputName?: string;
  /** Per-feature normalisation of the raw input, folded in as the first nodes: (x − mean)/std
   *  over the input's last two axes (index mel·channels + channel). */
  norm?: { mean: readonly number[]; std: readonly number[] };
  /** Fold BatchNorm into the Conv2D that feeds it (default true). */
  foldBatchNorm?: boolean;
}

function weightKey(fullName: string): string {
  // "bilstm/forward_lstm_LSTM1/kernel" → "kernel"; tfjs may add a numeric suffix ("kernel_1").
  return fullName.split('/').pop()!.replace(/_\d+$/, '');
}

/** Builds the ONNX graph of `model` into `g`: one input [N, ...inputShape], one output. */
export function convertLayersModel(model: tfjs.LayersModel, g: GraphBuilder, opts: ConvertOptions = {}): void {
  const inputName = opts.inputName ?? 'features';
  const outputName = opts.outputName ?? 'posteriors';
  if (model.inputs.length !== 1 || model.outputs.length !== 1) throw new Error('only single-input, single-output models are supported');
  const weightCache = new Map<Layer, Map<string, { data: Float32Array; shape: number[] }>>();
  const transposed = new Map<string, string>();

  const ctx: ConvertContext = {
    g,
    keras(v) {
      if (!v.nchw || v.shape.length !== 4) return { ...v, nchw: false };
      const key = `${v.name}->nhwc`;
      if (!transposed.has(key)) transposed.set(key, g.op('Transpose', [v.name], { perm: ints([0, 2, 3, 1]) }, `${v.name}.nhwc`));
      return { name: transposed.get(key)!, nchw: false, shape: v.shape };
    },
    nchw(v) {
      if (v.nchw || v.shape.length !== 4) return v;
      const key = `${v.name}->nchw`;
      if (!transposed.has(key)) transposed.set(key, g.op('Transpose', [v.name], { perm: ints([0, 3, 1, 2]) }, `${v.name}.nchw`));
      return { name: transposed.get(key)!, nchw: true, shape: v.shape };
    },
    weights(layer) {
      let m = weightCache.get(layer);
      if (!m) {
        m = new Map();
        for (const w of layer.weights) {
          const t = w.read();
          m.set(weightKey(w.originalName ?? w.name), { data: Float32Array.from(t.dataSync() as Float32Array), shape: [...t.shape] });
        }
        weightCache.set(layer, m);
      }
      return m;
    },
    activation(v, name) {
      if (!name || name === 'linear') return v;
      const ops: Record<string, string> = {
        relu: 'Relu',
        sigmoid: 'Sigmoid',
        tanh: 'Tanh',
        elu: 'Elu',
        selu: 'Selu',
        softplus: 'Softplus',
        softsign: 'Softsign',
      };
      if (ops[name]) return { ...v, name: g.op(ops[name], [v.name]) };
      if (name === 'softmax') return { ...v, name: g.op('Softmax', [v.name], { axis: int(v.nchw ? 1 : -1) }) };
      if (name === 'hardSigmoid') return { ...v, name: g.op('HardSigmoid', [v.name], { alpha: float(0.2), beta: float(0.5) }) };
      if (name === 'swish') return { ...v, name: g.op('Mul', [v.name, g.op('Sigmoid', [v.name])]) };
      throw new Error(`activation '${name}' is not supported by the ONNX exporter`);
    },
  };

  // Graph input and the folded normalisation.
  const inShape = model.inputs[0].shape;
  const dims = inShape.map((d, i) => (i === 0 ? 'N' : Number(d)));
  g.input(inputName, dims);
  let x = inputName;
  if (opts.norm) {
    const { mean, std } = opts.norm;
    const tail = inShape.slice(-2).map(Number);
    const n = tail[0] * tail[1];
    if (mean.length !== n || std.length !== n)
      throw new Error(`norm has ${mean.length}/${std.length} values; the input's last two axes hold ${n}`);
    // As src/model/normalize.ts: a (near-)zero std leaves the feature unscaled.
    const scale = Float32Array.from(std, (s) => 1 / (s >= MIN_STD ? s : 1)); // as normalizeFrames
    const shift = Float32Array.from(mean, (m, i) => -m * scale[i]);
    x = g.op(
      'Add',
      [g.op('Mul', [x, g.constant('norm.scale', scale, tail)], {}, 'norm.scale'), g.constant('norm.shift', shift, tail)],
      {},
      'norm.shift',
    );
  }
  const values = new Map<number, Val>([[model.inputs[0].id, { name: x, nchw: false, shape: [...inShape] }]]);

  // Which Conv2D → BatchNormalization pairs fold: the conv is linear and feeds only the BN.
  const foldInto = new Map<Layer, Layer>(); // bn → conv
  const folded = new Set<Layer>(); // convs emitted by their BN
  if (opts.foldBatchNorm !== false) {
    for (const layer of model.layers) {
      if (layer.getClassName() !== 'BatchNormalization' || layer.inboundNodes.length !== 1) continue;
      const src = layer.inboundNodes[0].inboundLayers[0];
      const axis = Number(cfg(layer).axis ?? -1);
      if (
        src?.getClassName() === 'Conv2D' &&
        src.outboundNodes.length === 1 &&
        src.inboundNodes.length === 1 &&
        (cfg(src).activation ?? 'linear') === 'linear' &&
        (axis === -1 || axis === 3)
      ) {
        foldInto.set(layer, src);
        folded.add(src);
      }
    }
  }

  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === 'InputLayer') continue;
    if (folded.has(layer)) continue;
    for (const node of layer.inboundNodes) {
      const inputsOf = (n: typeof node) =>
        n.inputTensors.map((t) => {
          const v = values.get(t.id);
          if (!v) throw new Error(`layer '${layer.name}': input '${t.name}' is not computed yet (unsupported topology)`);
          return v;
        });
      if (node.outputTensors.length !== 1) throw new UnsupportedLayerError(layer.name, cls, 'more than one output');
      const outShape = [...node.outputTensors[0].shape];
      let out: Val;
      const conv = foldInto.get(layer);
      if (conv) {
        // Emit the conv with this BatchNorm folded in, reading the conv's own inputs.
        out = conv2d(ctx, conv, inputsOf(conv.inboundNodes[0]), outShape, layer);
      } else {
        const fn = converters.get(cls);
        if (!fn) throw new UnsupportedLayerError(layer.name, cls, 'no ONNX converter for this layer type');
        out = fn(ctx, layer, inputsOf(node), outShape);
      }
      values.set(node.outputTensors[0].id, out);
    }
  }

  const last = values.get(model.outputs[0].id);
  if (!last) throw new Error('the model output was not produced');
  const final = ctx.keras(last);
  g.rename(final.name, outputName);
  g.output(
    outputName,
    final.shape.map((d, i) => (i === 0 ? 'N' : Number(d))),
  );
}
