// The inference stage's contract: anything that turns feature windows into posteriors.

import type { FeatureWindow } from '../dsp/types.js';

export interface Engine {
  /** e.g. "tfjs-wasm", "onnxruntime-cpu(2 threads)". */
  readonly backend: string;
  /** Model name (its directory's basename). */
  readonly model: string;
  /** Class labels, in the order of the posterior vector. */
  readonly labels: readonly string[];
  /**
   * Posteriors for a batch of windows (raw features; the engine applies the model's
   * normalisation). Returns one Float32Array of labels.length probabilities per window.
   */
  infer(windows: readonly Float32Array[]): Promise<Float32Array[]>;
  dispose(): Promise<void>;
}

/** 'onnx-cuda': ONNX Runtime's CUDA provider (needs onnxruntime-node installed with CUDA);
 *  'onnx-int8': the int8-quantized model.int8.onnx on CPU (docs/performance.md). */
export type EngineKind = 'tfjs' | 'onnx' | 'onnx-cuda' | 'onnx-int8';

export interface EngineOptions {
  kind?: EngineKind;
  /** Intra-op threads, where the engine has them. */
  threads?: number;
}

export type { FeatureWindow };
