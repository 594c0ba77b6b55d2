// The STA-CRNN architecture as data: the variants, the configuration object stored in a model
// directory's meta.json, and its validation. No tfjs here, so the server, the benchmarks and
// the model-directory reader can read an architecture without loading a training framework;
// src/model/sta-crnn.ts builds the network from it.

export type Variant = 'sta-crnn' | 'base1' | 'base2' | 'base3' | 'base4';

export interface StaCrnnConfig {
  /** sta-crnn: attention CNN → attention BiLSTM (serial, the paper's model). base1: CNN →
   * BiLSTM. base2: attention CNN → BiLSTM. base3: CNN → attention BiLSTM. base4: attention
   * CNN ∥ attention BiLSTM on the input, features fused (concatenated) before the classifier. */
  variant: Variant;
  /** Spatial-attention position 1…7: k ≤ 6 = after conv block k (after its pooling where it
   * has one); 7 = on the input, before conv 1. The paper's best (default) is 6. */
  attentionPosition: number;
  /** Multiplies every conv channel count and the LSTM units (1.0 = the paper). */
  width: number;
  numClasses: number;
  /** Conv output channels at width 1.0. */
  convChannels: number[];
  /** Conv kernel, [time, frequency]. */
  kernel: [number, number];
  /** Max-pool size after conv 1 and conv 2, [time, frequency]. */
  pool: [number, number];
  /** Conv blocks followed by a max-pool (1-based). */
  poolAfter: number[];
  spatialKernel: number;
  lstmUnits: number;
  dropout: number;
  /** Seed for the weight initialisers and dropout masks. */
  seed: number;
}

export const PAPER_CONFIG: StaCrnnConfig = {
  variant: 'sta-crnn',
  attentionPosition: 6,
  width: 1.0,
  numClasses: 7,
  convChannels: [128, 128, 256, 256, 256, 256],
  kernel: [5, 3],
  pool: [2, 4],
  poolAfter: [1, 2],
  spatialKernel: 7,
  lstmUnits: 128,
  dropout: 0.2,
  seed: 1,
};

export const VARIANTS: readonly Variant[] = ['sta-crnn', 'base1', 'base2', 'base3', 'base4'];

export function resolveConfig(partial: Partial<StaCrnnConfig> = {}): StaCrnnConfig {
  const c = { ...PAPER_CONFIG, ...partial };
  if (!VARIANTS.includes(c.variant)) throw new Error(`unknown variant '${c.variant}' (expected ${VARIANTS.join(', ')})`);
  if (!Number.isInteger(c.attentionPosition) || c.attentionPosition < 1 || c.attentionPosition > 7) {
    throw new Error(`attentionPosition must be 1…7, got ${c.attentionPosition}`);
  }
  if (!(c.width > 0 && c.width <= 4)) throw new Error(`width must be in (0, 4], got ${c.width}`);
  if (!Number.isInteger(c.numClasses) || c.numClasses < 2) throw new Error(`numClasses must be an integer ≥ 2, got ${c.numClasses}`);
  return c;
}
