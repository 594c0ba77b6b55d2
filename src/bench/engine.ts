// Engine throughput: windows/s and ms/window at several batch sizes for every engine that is
// available, in one process and one run, so their ratio is honest. Windows are real Emo-DB
// speech features.
import { loadEngine } from '../inference/load-engine.js';
import { OnnxEngine } from '../inference/onnx-engine.js';
import type { Engine, OrtProviderName } from '../inference/engine.js';
import { corpusWindows } from './corpus.js';
import type { BenchModel } from './models.js';

export interface EngineRow {
  model: string;
  base: string;
  engine: string;
  backend: string;
  batch: number;
  runs: number;
  msPerBatch: number;
  msPerWindow: number;
  windowsPerSec: number;
  /** Per-batch time percentiles over the measured runs, ms. */
  p50Ms: number;
  p99Ms: number;
}

export interface EngineBenchOptions {
  batches: number[];
  /** Measuring time per (engine, batch), after one warm-up batch. */
  seconds: number;
  /** Which engines: 'tfjs', 'onnx:1', 'onnx:2' (ONNX Runtime with that many threads on the
   *  directory's model.onnx, which is int8 for an int8 bench model), 'onnx-webgpu:2',
   *  'onnx-cuda:2' (that execution provider, CPU fallback nodes on 2 threads). */
  engines: string[];
  log?: (line: string) => void;
}

async function open(spec: string, dir: string): Promise<Engine> {
  if (spec === 'tfjs') return loadEngine(dir, { kind: 'tfjs' });
  const m = /^onnx(?:-(cpu|webgpu|cuda))?:(\d+)$/.exec(spec);
  if (m) return OnnxEngine.load(dir, { threads: Number(m[2]), providers: [(m[1] ?? 'cpu') as OrtProviderName] });
  throw new Error(`unknown engine '${spec}'`);
}

export async function timeBatches(
  engine: Engine,
  windows: Float32Array[],
  batch: number,
  seconds: number,
): Promise<{ runs: number; msPerBatch: number; p50Ms: number; p99Ms: number }> {
  const input = Array.from({ length: batch }, (_, i) => windows[i % windows.length]);
  await engine.infer(input);
  const times: number[] = [];
  const t0 = performance.now();
  // At least two batches, however slow, so one hiccup is not the whole figure.
  while (times.length < 2 || performance.now() - t0 < seconds * 1000) {
    const t = performance.now();
    await engine.infer(input);
    times.push(performance.now() - t);
  }
  const runs = times.length;
  times.sort((a, b) => a - b);
  const pct = (p: number) => times[Math.min(runs - 1, Math.ceil((p / 100) * runs) - 1)];
  return { runs, msPerBatch: (performance.now() - t0) / runs, p50Ms: pct(50), p99Ms: pct(99) };
}

export async function runEngineBench(model: BenchModel, opts: EngineBenchOptions): Promise<EngineRow[]> {
  const windows = await corpusWindows(Math.min(32, Math.max(...opts.batches)));
  const rows: EngineRow[] = [];
  for (const spec of opts.engines) {
    const engine = await open(spec, model.dir);
    try {
      for (const batch of opts.batches) {
        const { runs, msPerBatch, p50Ms, p99Ms } = await timeBatches(engine, windows, batch, opts.seconds);
        const row: EngineRow = {
          model: model.label,
          base: model.base,
          engine: spec,
          backend: engine.backend,
          batch,
          runs,
          msPerBatch,
          msPerWindow: msPerBatch / batch,
          windowsPerSec: (1000 * batch) / msPerBatch,
          p50Ms,
          p99Ms,
        };
        rows.push(row);
        opts.log?.(
          `engine ${model.label} ${engine.backend} batch ${batch}: ${row.msPerWindow.toFixed(2)} ms/window, ${row.windowsPerSec.toFixed(1)} windows/s, p50 ${p50Ms.toFixed(1)} p99 ${p99Ms.toFixed(1)} ms/batch (${runs} runs)`,
        );
      }
    } finally {
      await engine.dispose();
    }
  }
  return rows;
}
