// The STA-CRNN's two custom layers. Both are registered with tfjs serialization so a saved
// model.json loads back with them; their weight names (spatial_attention/kernel, /bias;
// temporal_attention/kernel) are part of the contract with the ONNX exporter.
import { tf } from './tf.js';

type Kwargs = Record<string, unknown>;
type LayerArgs = ConstructorParameters<typeof tf.layers.Layer>[0];

/**
 * CBAM-style spatial attention: mean and max over channels → [H, W, 2] → k×k conv to one
 * channel → sigmoid → a [H, W, 1] mask multiplied onto the input.
 */
export class SpatialAttention extends tf.layers.Layer {
  static className = 'SpatialAttention';
  readonly kernelSize: number;
  readonly seed: number | undefined;
  private kernel!: tf.LayerVariable;
  private bias!: tf.LayerVariable;

  constructor(args: LayerArgs & { kernelSize?: number; seed?: number }) {
    super(args);
    this.kernelSize = args.kernelSize ?? 7;
    this.seed = args.seed;
  }

  override build(): void {
    const k = this.kernelSize;
    this.kernel = this.addWeight('kernel', [k, k, 2, 1], 'float32', tf.initializers.glorotUniform({ seed: this.seed }));
    this.bias = this.addWeight('bias', [1], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  /** The [B, H, W, 1] attention mask for an input (exposed for tests and analysis). */
  mask(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const pooled = tf.concat([tf.mean(x, -1, true), tf.max(x, -1, true)], -1) as tf.Tensor4D;
      const conv = tf.conv2d(pooled, this.kernel.read() as tf.Tensor4D, 1, 'same');
      return tf.sigmoid(tf.add(conv, this.bias.read())) as tf.Tensor4D;
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    return tf.tidy(() => tf.mul(x, this.mask(x)));
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), kernelSize: this.kernelSize, ...(this.seed === undefined ? {} : { seed: this.seed }) };
  }
}

/**
 * Temporal attention over a sequence h[B, T, D]: μ_t = softmax_t(W·h_t), output Σ_t μ_t·h_t
 * of shape [B, D]. W has no bias: a constant shift cancels in the softmax.
 */
export class TemporalAttention extends tf.layers.Layer {
  static className = 'TemporalAttention';
  readonly seed: number | undefined;
  private kernel!: tf.LayerVariable;

  constructor(args: LayerArgs & { seed?: number }) {
    super(args);
    this.seed = args.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const d = shape[shape.length - 1] as number;
    this.kernel = this.addWeight('kernel', [d, 1], 'float32', tf.initializers.glorotUniform({ seed: this.seed }));
    this.built = true;
  }

  /** The [B, T] attention weights μ (each row sums to 1). */
  weightsFor(h: tf.Tensor3D): tf.Tensor2D {
    return tf.tidy(() => {
      const [b, t, d] = h.shape;
      const scores = tf.reshape(tf.matMul(tf.reshape(h, [b * t, d]), this.kernel.read() as tf.Tensor2D), [b, t]);
      return tf.softmax(scores) as tf.Tensor2D;
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    const h = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
    return tf.tidy(() => tf.sum(tf.mul(h, tf.expandDims(this.weightsFor(h), -1)), 1));
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0], shape[2]];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...(this.seed === undefined ? {} : { seed: this.seed }) };
  }
}

let registered = false;
export function registerCustomLayers(): void {
  if (registered) return;
  registered = true;
  tf.serialization.registerClass(SpatialAttention);
  tf.serialization.registerClass(TemporalAttention);
}
registerCustomLayers();
