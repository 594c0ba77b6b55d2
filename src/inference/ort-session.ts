// One place that turns emostream's engine options into ONNX Runtime session options, so the
// in-thread engine, the worker-thread engine and the benchmarks configure ORT identically.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';

import type { OrtProviderName } from './engine.js';

export type OrtProvider = OrtProviderName;

export interface OrtSessionOptions {
  /** Intra-op threads (default: 1). ORT's own default is one per core, which fights the
   *  server's event loop and front end for the same cores. */
  threads?: number;
  /** Execution providers in preference order (default ['cpu']). */
  providers?: readonly OrtProvider[];
}

/** The names the exporter gives the graph's input and output. */
export const INPUT_NAME = 'features';
export const OUTPUT_NAME = 'posteriors';

export function sessionOptions(opts: OrtSessionOptions = {}): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [...(opts.providers ?? ['cpu'])],
    intraOpNumThreads: Math.max(1, Math.floor(opts.threads ?? 1)),
    // One model, one branch at a time: parallel execution only adds scheduling overhead.
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    // Idle pool threads sleep instead of spinning: the server's event loop (sockets, front end)
    // needs the same cores between batches, and spinning threads on a busy or shared machine
    // made 2-thread inference slower than 1-thread (measured, docs/performance.md).
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

export async function createSession(model: string | Uint8Array, opts: OrtSessionOptions = {}): Promise<ort.InferenceSession> {
  const so = sessionOptions(opts);
  // A missing CUDA library or Vulkan driver is reported to the caller as an error; ORT would also print it.
  if (opts.providers?.some((p) => p !== 'cpu')) {
    so.logSeverityLevel = 4;
    ort.env.logLevel = 'fatal';
  }
  return typeof model === 'string' ? ort.InferenceSession.create(model, so) : ort.InferenceSession.create(model, so);
}

/** Runs a batch: `input` holds n windows back to back; returns n × classes posteriors. */
export async function runBatch(
  session: ort.InferenceSession,
  input: Float32Array,
  n: number,
  windowShape: readonly number[],
): Promise<{ data: Float32Array; classes: number }> {
  const feeds = { [INPUT_NAME]: new ort.Tensor('float32', input, [n, ...windowShape]) };
  const out = (await session.run(feeds))[OUTPUT_NAME];
  const classes = Number(out.dims[out.dims.length - 1]);
  // Copy: ORT may reuse or free the output buffer once the tensor is disposed.
  const data = Float32Array.from(out.data as Float32Array);
  out.dispose?.();
  return { data, classes };
}

/** Whether onnxruntime-node was installed with its CUDA provider library (the npm default is
 *  without). Checked before trying: a failed CUDA load prints ORT's own error on stderr. */
export function cudaInstalled(): boolean {
  const pkg = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  return existsSync(join(pkg, 'bin/napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'));
}
