// The GPU benchmark that bench/gpu-pack.sh bundles: for each model directory, the CPU provider
// and the WebGPU provider on the same real speech windows — parity (max |Δp| against the CPU
// provider at batch 1, 8, 64), then windows/s and p50/p99 per batch at batch 1…512 — as one
// JSON file. Runs from the bundle on a machine without the repository (no tfjs, no worker
// thread file), and from the repository:
//
//   node --import tsx bench/gpu-bench.ts --models models/basic-4 --wav-dir ../shared/data/emodb/wav --out runs/gpu.json
import { readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { OnnxEngine } from '../src/inference/onnx-engine.js';
import { vulkanDrivers } from '../src/inference/vulkan-drivers.js';
import { maxAbsDiff } from '../src/inference/auto-provider.js';
import { timeBatches } from '../src/bench/engine.js';
import { loadAudio16k } from '../src/dsp/load.js';
import { computeFeatures } from '../src/dsp/features.js';
import { cutWindow, utteranceWindows } from '../src/dsp/utterance.js';

const { values: a } = parseArgs({
  options: {
    models: { type: 'string', default: 'models/basic-4' },
    'wav-dir': { type: 'string', default: '../shared/data/emodb/wav' },
    batches: { type: 'string', default: '1,8,32,128,512' },
    parity: { type: 'string', default: '1,8,64' },
    seconds: { type: 'string', default: '2' },
    threads: { type: 'string', default: String(availableParallelism()) },
    providers: { type: 'string', default: 'cpu,webgpu' },
    out: { type: 'string', default: 'gpu-bench.json' },
  },
});
const list = (s: string) => s.split(',').filter(Boolean);
const batches = list(a.batches!).map(Number);
const parityBatches = list(a.parity!).map(Number);
const threads = Number(a.threads);
const log = (s: string) => console.error(s);

const need = Math.max(...parityBatches, 64);
const windows: Float32Array[] = [];
for (const f of readdirSync(a['wav-dir']!)
  .filter((x) => x.endsWith('.wav'))
  .sort()) {
  const feats = computeFeatures(await loadAudio16k(join(a['wav-dir']!, f)));
  for (const w of utteranceWindows(feats.frames)) windows.push(cutWindow(feats.data, w));
  if (windows.length >= need) break;
}
const take = (n: number) => Array.from({ length: n }, (_, i) => windows[i % windows.length]);
log(`${windows.length} speech windows; Vulkan: ${JSON.stringify(vulkanDrivers())}`);

const report = {
  date: new Date().toISOString(),
  machine: {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memGB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  },
  vulkan: vulkanDrivers(),
  threads,
  distinctWindows: windows.length,
  models: [] as unknown[],
};
for (const dir of list(a.models!)) {
  const entry: { model: string; engines: Record<string, string>; parity: Record<string, number>; rows: unknown[]; errors: string[] } = {
    model: dir,
    engines: {},
    parity: {},
    rows: [],
    errors: [],
  };
  report.models.push(entry);
  const engines = new Map<string, OnnxEngine>();
  for (const p of list(a.providers!) as ('cpu' | 'webgpu' | 'cuda')[]) {
    try {
      const t = performance.now();
      const e = await OnnxEngine.load(dir, { providers: [p], threads, worker: false });
      engines.set(p, e);
      entry.engines[p] = e.backend;
      log(`${dir}: ${e.backend} loaded in ${(performance.now() - t).toFixed(0)} ms`);
    } catch (err) {
      entry.errors.push(`${p}: ${(err as Error).message}`);
      log(`${dir}: ${p} not loaded: ${(err as Error).message}`);
    }
  }
  const cpu = engines.get('cpu');
  for (const [p, e] of engines) {
    if (p === 'cpu' || !cpu) continue;
    for (const n of parityBatches) {
      const d = maxAbsDiff(await e.infer(take(n)), await cpu.infer(take(n)));
      entry.parity[`${p}@${n}`] = d;
      log(`${dir}: ${p} vs cpu at batch ${n}: max |Δp| ${d.toExponential(2)}`);
    }
  }
  for (const [p, e] of engines) {
    for (const n of batches) {
      const r = await timeBatches(e, windows, n, Number(a.seconds));
      const row = { provider: p, backend: e.backend, batch: n, ...r, windowsPerSec: (1000 * n) / r.msPerBatch };
      entry.rows.push(row);
      log(
        `${dir}: ${e.backend} batch ${n}: ${row.windowsPerSec.toFixed(1)} windows/s, p50 ${r.p50Ms.toFixed(2)} p99 ${r.p99Ms.toFixed(2)} ms (${r.runs} runs)`,
      );
    }
  }
  for (const e of engines.values()) await e.dispose();
}
writeFileSync(a.out!, JSON.stringify(report, null, 1) + '\n');
log(`wrote ${a.out}`);
