// The inference stage's contract: anything that turns feature windows into posteriors.

import type { FeatureWindow } from '../dsp/types.js';

export interface Engine {
  /** e.g. "tfjs-wasm", "onnxruntime-cpu(2 threads)". */
  readonly backend: string;
  /** Model name (its directory's basename). */
  readonly model: string;
  /** ONNX Runtime's execution provider ('cpu', 'webgpu', 'cuda'); undefined for tfjs. */
  readonly provider?: OrtProviderName;
  /** Class labels, in the order of the posterior vector. */
  readonly labels: readonly string[];
  /**
   * Posteriors for a batch of windows (raw features; the engine applies the model's
   * normalisation). Returns one Float32Array of labels.length probabilities per window.
   */
  infer(windows: readonly Float32Array[]): Promise<Float32Array[]>;
  dispose(): Promise<void>;
  /** Counters of an engine that hands batches elsewhere (remote), shown in /healthz and /metrics. */
  stats?(): EngineStats;
}

/** Where a remote engine's windows were computed, and how often its workers did not answer. */
export interface EngineStats {
  /** Windows a worker computed. */
  remoteWindows: number;
  /** Windows computed here because no worker answered in time (fallback local). */
  localWindows: number;
  /** Windows reported skipped because no worker answered in time (fallback overloaded). */
  overloadedWindows: number;
  /** Batches with no usable answer within the deadline (none came, an error came, or the request
   *  could not be sent): each fell back to local or overloaded. */
  timedOutBatches: number;
  /** Answers that came after their deadline (already computed or reported). */
  late: number;
}

/**
 * Thrown by an engine that has no capacity for a batch now (a remote engine whose workers did not
 * answer in time): the batcher reports the batch's windows as skipped (`overloaded`), not as a failure.
 */
export class EngineOverloaded extends Error {}

/** 'onnx-cuda': ONNX Runtime's CUDA provider (needs onnxruntime-node installed with CUDA);
 *  'onnx-int8': the int8-quantized model.int8.onnx on CPU (docs/performance.md). */
export type EngineKind = 'tfjs' | 'onnx' | 'onnx-cuda' | 'onnx-int8';

/** An ONNX Runtime execution provider emostream can run the model on. */
export type OrtProviderName = 'cpu' | 'webgpu' | 'cuda';
/** What --provider takes: a provider, or 'auto' (the fastest that loads and agrees with the
 *  CPU provider at start-up; never a software GPU adapter). */
export type ProviderChoice = OrtProviderName | 'auto';
export const PROVIDER_CHOICES: readonly ProviderChoice[] = ['cpu', 'webgpu', 'cuda', 'auto'];

export interface EngineOptions {
  kind?: EngineKind;
  /** Intra-op threads, where the engine has them. */
  threads?: number;
  /** ONNX engines only (default 'cpu'); --engine onnx-cuda is --provider cuda. */
  provider?: ProviderChoice;
  /** Batch size 'auto' times the providers at (the server's max batch; default 8). */
  autoBatch?: number;
  /** Where 'auto' says what it chose and why, and a software GPU adapter is warned about. */
  log?: (line: string) => void;
}

export type { FeatureWindow };
