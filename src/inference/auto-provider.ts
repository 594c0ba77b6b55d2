// --provider auto: at start-up, load the model on every ONNX Runtime provider this machine can
// run, keep those whose posteriors agree with the CPU provider's, and serve on the fastest at
// the batch size the server will use. A software Vulkan adapter (SwiftShader, lavapipe) is
// never tried: it computes correctly but is far slower than the CPU provider, and timing it
// would cost the start-up seconds to minutes.
import { UserError } from '../errors.js';
import { readMeta } from '../model-dir.js';
import type { OrtProviderName } from './engine.js';
import { OnnxEngine } from './onnx-engine.js';
import { cudaInstalled } from './ort-session.js';
import { syntheticWindows } from './synthetic-windows.js';
import { vulkanDrivers } from './vulkan-drivers.js';

/** Largest |Δp| against the CPU provider that a provider may show and still be chosen. */
export const AUTO_PARITY = 1e-3;

export interface AutoOptions {
  threads?: number;
  /** Windows per timed batch (the server's max batch). */
  batch?: number;
  log?: (line: string) => void;
}

export function maxAbsDiff(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  let m = 0;
  a.forEach((p, i) => p.forEach((v, k) => (m = Math.max(m, Math.abs(v - b[i][k])))));
  return m;
}

/** Windows per second at this batch: the median of a few timed runs after a warm-up. */
async function speed(engine: OnnxEngine, windows: Float32Array[]): Promise<number> {
  await engine.infer(windows);
  const ms: number[] = [];
  const t0 = performance.now();
  while (ms.length < 3 || (ms.length < 9 && performance.now() - t0 < 500)) {
    const t = performance.now();
    await engine.infer(windows);
    ms.push(performance.now() - t);
  }
  ms.sort((x, y) => x - y);
  return (1000 * windows.length) / ms[ms.length >> 1];
}

export async function loadAutoEngine(dir: string, opts: AutoOptions = {}): Promise<OnnxEngine> {
  const batch = Math.min(64, Math.max(1, Math.floor(opts.batch ?? 8)));
  const windows = syntheticWindows(await readMeta(dir), batch, 12);
  const cpu = await OnnxEngine.load(dir, { threads: opts.threads, providers: ['cpu'] });
  const notes: string[] = [];
  let best: { engine: OnnxEngine; wps: number };
  try {
    const reference = await cpu.infer(windows);
    best = { engine: cpu, wps: await speed(cpu, windows) };
    notes.push(`cpu ${best.wps.toFixed(0)} windows/s`);
    for (const provider of ['webgpu', 'cuda'] as OrtProviderName[]) {
      if (provider === 'webgpu') {
        const d = vulkanDrivers();
        if (d.adapter !== 'hardware') {
          notes.push(
            d.adapter === 'software'
              ? `webgpu skipped (software Vulkan adapter only: ${d.softwareNames.join(', ')})`
              : 'webgpu skipped (no Vulkan driver)',
          );
          continue;
        }
      }
      if (provider === 'cuda' && !cudaInstalled()) {
        notes.push('cuda not installed');
        continue;
      }
      let engine: OnnxEngine;
      try {
        engine = await OnnxEngine.load(dir, { threads: opts.threads, providers: [provider] });
      } catch (err) {
        notes.push(
          `${provider} not available${err instanceof UserError && err.code === 'provider_unavailable' ? '' : ` (${(err as Error).message})`}`,
        );
        continue;
      }
      let keep = false;
      try {
        const diff = maxAbsDiff(await engine.infer(windows), reference);
        if (diff > AUTO_PARITY) {
          notes.push(`${provider} rejected (max |Δp| ${diff.toExponential(1)} against cpu)`);
          continue;
        }
        const wps = await speed(engine, windows);
        notes.push(`${provider} ${wps.toFixed(0)} windows/s`);
        if (wps > best.wps) {
          if (best.engine !== cpu) await best.engine.dispose();
          best = { engine, wps };
          keep = true;
        }
      } finally {
        if (!keep) await engine.dispose();
      }
    }
  } catch (err) {
    await cpu.dispose();
    throw err;
  }
  if (best.engine !== cpu) await cpu.dispose();
  opts.log?.(`provider auto: ${best.engine.provider} (at batch ${batch}: ${notes.join('; ')})`);
  return best.engine;
}
