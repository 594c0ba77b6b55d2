// Engine throughput: windows/s and ms/window at several batch sizes for every engine that is
// available, in one process and one run, so their ratio is honest. Windows are real Emo-DB
// speech features.
import { loadEngine } from '../inference/load-engine.js';
import { OnnxEngine } from '../inference/onnx-engine.js';
import type { Engine } from '../inference/engine.js';
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
}

export interface EngineBenchOptions {
  batches: number[];
  /** Measuring time per (engine, batch), after one warm-up batch. */
  seconds: number;
  /** Which engines: 'tfjs', 'onnx:1', 'onnx:2' (ONNX Runtime with that many threads on the
   *  directory's model.onnx, which is int8 for an int8 bench model). */
  engines: string[];
  log?: (line: string) => void;
}

async function open(spec: string, dir: string): Promise<Engine> {
  if (spec === 'tfjs') return loadEngine(dir, { kind: 'tfjs' });
  const m = /^onnx:(\d+)$/.exec(spec);
  if (m) return OnnxEngine.load(dir, { threads: Number(m[1]) });
  throw new Error(`unknown engine '${spec}'`);
}

export async function timeBatches(
  engine: Engine,
  windows: Float32Array[],
  batch: number,
  seconds: number,
): Promise<{ runs: number; msPerBatch: number }> {
  const input = Array.from({ length: batch }, (_, i) => windows[i % windows.length]);
  await engine.infer(input);
  let runs = 0;
  const t0 = performance.now();
  // At least two batches, however slow, so one hiccup is not the whole figure.
  while (runs < 2 || performance.now() - t0 < seconds * 1000) {
    await engine.infer(input);
    runs++;
  }
  return { runs, msPerBatch: (performance.now() - t0) / runs };
}

export async function runEngineBench(model: BenchModel, opts: EngineBenchOptions): Promise<EngineRow[]> {
  const windows = await corpusWindows(Math.min(32, Math.max(...opts.batches)));
  const rows: EngineRow[] = [];
  for (const spec of opts.engines) {
    const engine = await open(spec, model.dir);
    try {
      for (const batch of opts.batches) {
        const { runs, msPerBatch } = await timeBatches(engine, windows, batch, opts.seconds);
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
        };
        rows.push(row);
        opts.log?.(
          `engine ${model.label} ${engine.backend} batch ${batch}: ${row.msPerWindow.toFixed(2)} ms/window, ${row.windowsPerSec.toFixed(1)} windows/s (${runs} runs)`,
        );
      }
    } finally {
      await engine.dispose();
    }
  }
  return rows;
}
