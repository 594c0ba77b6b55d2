// STA-CRNN (spatial–temporal attention CRNN) and the paper's variants, as one configuration
// object. docs/model.md describes the architecture, the AC1…AC7 reading and the layer names
// (stable: the ONNX exporter maps weights by them).
import { tf } from './tf.js';
import { SpatialAttention, TemporalAttention } from './layers.js';
import { N_CHANNELS, N_MELS, WINDOW_FRAMES } from '../dsp/types.js';
import { resolveConfig, type StaCrnnConfig, type Variant } from '../model-config.js';

export { PAPER_CONFIG, VARIANTS, resolveConfig, type StaCrnnConfig, type Variant } from '../model-config.js';

const scaled = (n: number, w: number) => Math.max(1, Math.round(n * w));

const spatialAttentionOn = (v: Variant) => v === 'sta-crnn' || v === 'base2' || v === 'base4';
const temporalAttentionOn = (v: Variant) => v === 'sta-crnn' || v === 'base3' || v === 'base4';

/** Build the model: input [300, 40, 3] (z-scored features), output softmax posteriors. */
export function buildModel(partial: Partial<StaCrnnConfig> = {}): tf.LayersModel {
  const c = resolveConfig(partial);
  let seed = c.seed * 1000;
  const nextSeed = () => ++seed;
  const input = tf.input({ shape: [WINDOW_FRAMES, N_MELS, N_CHANNELS], name: 'features' });
  const sa = spatialAttentionOn(c.variant);
  const spatial = (x: tf.SymbolicTensor) =>
    new SpatialAttention({ name: 'spatial_attention', kernelSize: c.spatialKernel, seed: nextSeed() }).apply(x) as tf.SymbolicTensor;

  // CNN
  let x: tf.SymbolicTensor = input;
  if (sa && c.attentionPosition === 7) x = spatial(x);
  c.convChannels.forEach((ch, i) => {
    const k = i + 1;
    x = tf.layers
      .conv2d({
        name: `conv${k}`,
        filters: scaled(ch, c.width),
        kernelSize: c.kernel,
        padding: 'same',
        kernelInitializer: tf.initializers.heNormal({ seed: nextSeed() }),
      })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ name: `bn${k}`, axis: -1, momentum: 0.9 }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.reLU({ name: `relu${k}` }).apply(x) as tf.SymbolicTensor;
    // No per-layer seed: tfjs reuses a seeded dropout mask on every call (the same units
    // dropped at every step), which trains a different network from the one inferred. The
    // trainer seeds the global generator instead (see src/train/trainer.ts).
    x = tf.layers.dropout({ name: `dropout${k}`, rate: c.dropout }).apply(x) as tf.SymbolicTensor;
    if (c.poolAfter.includes(k)) {
      x = tf.layers
        .maxPooling2d({ name: `pool${c.poolAfter.indexOf(k) + 1}`, poolSize: c.pool, strides: c.pool })
        .apply(x) as tf.SymbolicTensor;
    }
    if (sa && c.attentionPosition === k) x = spatial(x);
  });
  const [, steps, freq, chans] = x.shape as number[];

  const units = scaled(c.lstmUnits, c.width);
  const lstm = (name: string, seq: tf.SymbolicTensor, returnSequences: boolean) =>
    tf.layers
      .bidirectional({
        name,
        mergeMode: 'concat',
        layer: tf.layers.lstm({
          // sigmoid gates as in the paper (and ONNX's LSTM default); tfjs defaults to hardSigmoid.
          units,
          returnSequences,
          recurrentActivation: 'sigmoid',
          kernelInitializer: tf.initializers.glorotUniform({ seed: nextSeed() }),
          recurrentInitializer: tf.initializers.orthogonal({ seed: nextSeed() }),
        }) as unknown as tf.RNN,
      })
      .apply(seq) as tf.SymbolicTensor;
  const ta = temporalAttentionOn(c.variant);

  let features: tf.SymbolicTensor;
  if (c.variant === 'base4') {
    // Parallel: the attention CNN's map pooled to one vector, fused with an attention BiLSTM
    // run directly on the (time × 120) input sequence.
    const cnnVec = tf.layers.globalAveragePooling2d({ name: 'cnn_pool' }).apply(x) as tf.SymbolicTensor;
    const seq = tf.layers
      .reshape({ name: 'input_sequence', targetShape: [WINDOW_FRAMES, N_MELS * N_CHANNELS] })
      .apply(input) as tf.SymbolicTensor;
    const h = lstm('bilstm', seq, true);
    const rnnVec = new TemporalAttention({ name: 'temporal_attention', seed: nextSeed() }).apply(h) as tf.SymbolicTensor;
    features = tf.layers.concatenate({ name: 'fusion', axis: -1 }).apply([cnnVec, rnnVec]) as tf.SymbolicTensor;
  } else {
    const seq = tf.layers.reshape({ name: 'to_sequence', targetShape: [steps, freq * chans] }).apply(x) as tf.SymbolicTensor;
    if (ta) {
      const h = lstm('bilstm', seq, true);
      features = new TemporalAttention({ name: 'temporal_attention', seed: nextSeed() }).apply(h) as tf.SymbolicTensor;
    } else {
      // Without temporal attention the BiLSTM's final states (forward at T, backward at 1) summarise.
      features = lstm('bilstm', seq, false);
    }
  }
  const out = tf.layers
    .dense({
      name: 'fc',
      units: c.numClasses,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: nextSeed() }),
    })
    .apply(features) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: `sta_crnn_${c.variant}` });
}
