// Front-end speed: 48 kHz mono → resample to 16 kHz → Log-Mel/Δ/ΔΔ frames → 300-frame windows,
// streamed in 20 ms chunks as a live source would deliver them. Reports times real time on one
// core (Node runs this on a single thread).
//
//   npx tsx bench/frontend.ts [--seconds 60] [--json out.json]
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { FeatureStream } from '../src/dsp/features.js';
import { Resampler } from '../src/dsp/resample.js';
import { Windower } from '../src/dsp/windows.js';

export interface FrontendBenchResult {
  audioSeconds: number;
  inputRate: number;
  chunkMs: number;
  /** Wall-clock milliseconds for each stage alone and for the whole chain (best of `repeats`). */
  ms: { resample: number; features: number; windows: number; total: number };
  /** audioSeconds / wall seconds. */
  timesRealTime: { resample: number; features: number; windows: number; total: number };
  frames: number;
  windows: number;
  resamplerTaps: number;
  repeats: number;
  node: string;
  cpu: string;
}

function testSignal(rate: number, seconds: number): Float32Array {
  // Speech-like enough for timing: a few tones with a slow envelope plus deterministic noise.
  const x = new Float32Array(Math.round(rate * seconds));
  let seed = 12345;
  for (let n = 0; n < x.length; n++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const t = n / rate;
    const env = 0.5 + 0.5 * Math.sin(2 * Math.PI * 3 * t);
    x[n] = env * (0.3 * Math.sin(2 * Math.PI * 220 * t) + 0.1 * Math.sin(2 * Math.PI * 1870 * t)) + 0.05 * (seed / 2 ** 32 - 0.5);
  }
  return x;
}

function timeIt(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export function runFrontendBench(seconds = 60, repeats = 3): FrontendBenchResult {
  const inputRate = 48000;
  const chunkMs = 20;
  const chunk = (inputRate * chunkMs) / 1000;
  const input = testSignal(inputRate, seconds);
  const at16k = testSignal(16000, seconds);

  let frames = 0;
  let windows = 0;
  let taps = 0;
  const resampleOnly = () => {
    const r = new Resampler(inputRate, 16000);
    taps = r.design.taps;
    for (let i = 0; i < input.length; i += chunk) r.process(input.subarray(i, i + chunk));
    r.flush();
  };
  const featuresOnly = () => {
    const fs = new FeatureStream(() => {});
    const c16 = chunk / 3;
    for (let i = 0; i < at16k.length; i += c16) fs.push(at16k.subarray(i, i + c16));
    fs.end();
  };
  const frameList: Float32Array[] = [];
  const fsCollect = new FeatureStream((f) => frameList.push(f));
  fsCollect.push(at16k);
  fsCollect.end();
  const windowsOnly = () => {
    const w = new Windower();
    for (const f of frameList) w.push(f);
    w.end();
  };
  const total = () => {
    const r = new Resampler(inputRate, 16000);
    const w = new Windower();
    frames = 0;
    windows = 0;
    const fs = new FeatureStream((f) => {
      frames++;
      windows += w.push(f).length;
    });
    for (let i = 0; i < input.length; i += chunk) fs.push(r.process(input.subarray(i, i + chunk)));
    fs.push(r.flush());
    fs.end();
    windows += w.end().length;
  };
  // Warm up the JIT on a short run of each, then take the best of `repeats`.
  const best = (fn: () => void) => {
    fn();
    return Math.min(...Array.from({ length: repeats }, () => timeIt(fn)));
  };
  const ms = { resample: best(resampleOnly), features: best(featuresOnly), windows: best(windowsOnly), total: best(total) };
  const xrt = (m: number) => Math.round((seconds / (m / 1000)) * 10) / 10;
  return {
    audioSeconds: seconds,
    inputRate,
    chunkMs,
    ms: Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, Math.round(v * 100) / 100])) as FrontendBenchResult['ms'],
    timesRealTime: { resample: xrt(ms.resample), features: xrt(ms.features), windows: xrt(ms.windows), total: xrt(ms.total) },
    frames,
    windows,
    resamplerTaps: taps,
    repeats,
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, json: { type: 'string' }, repeats: { type: 'string', default: '3' } } });
  const seconds = Number(values.seconds);
  const r = runFrontendBench(seconds, Number(values.repeats));
  console.log(`front end on ${r.audioSeconds} s of ${r.inputRate / 1000} kHz audio in ${r.chunkMs} ms chunks (best of ${r.repeats}, ${r.cpu}, node ${r.node}):`);
  console.log(`  resample 48k→16k (${r.resamplerTaps} taps): ${r.ms.resample.toFixed(1)} ms  ${r.timesRealTime.resample}× real time`);
  console.log(`  log-mel/Δ/ΔΔ features:      ${r.ms.features.toFixed(1)} ms  ${r.timesRealTime.features}× real time`);
  console.log(`  300-frame windows:          ${r.ms.windows.toFixed(1)} ms  ${r.timesRealTime.windows}× real time`);
  console.log(`  whole chain:                ${r.ms.total.toFixed(1)} ms  ${r.timesRealTime.total}× real time (${r.frames} frames, ${r.windows} windows)`);
  if (values.json) writeFileSync(values.json, JSON.stringify(r, null, 2) + '\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
