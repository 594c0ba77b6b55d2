// Front-end speed: 48 kHz mono → resample to 16 kHz → Log-Mel/Δ/ΔΔ frames → 300-frame windows,
// streamed in 20 ms chunks as a live source would deliver them. Reports times real time on one
// core (Node runs this on a single thread).
//
//   npx tsx bench/frontend.ts [--seconds 60] [--json out.json]
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { FeatureStream } from '../dsp/features.js';
import { Resampler } from '../dsp/resample.js';
import { Windower } from '../dsp/windows.js';

type Stages = { resample: number; features: number; windows: number; total: number };

export interface FrontendBenchResult {
  audioSeconds: number;
  inputRate: number;
  chunkMs: number;
  /** Wall-clock milliseconds for each stage alone and for the whole chain (best of `repeats`). */
  ms: Stages;
  /** audioSeconds / wall seconds. */
  timesRealTime: Stages;
  /** The same from process CPU time (user + system) of the best run: less sensitive to other load on a shared machine. */
  cpuMs: Stages;
  cpuTimesRealTime: Stages;
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

function timeIt(fn: () => void): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
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
  // Warm up the JIT with one run of each, then keep the fastest of `repeats` (wall clock).
  const best = (fn: () => void) => {
    fn();
    const runs = Array.from({ length: repeats }, () => timeIt(fn));
    return runs.reduce((a, b) => (b.wall < a.wall ? b : a));
  };
  const runs = { resample: best(resampleOnly), features: best(featuresOnly), windows: best(windowsOnly), total: best(total) };
  const pick = (k: 'wall' | 'cpu') => Object.fromEntries(Object.entries(runs).map(([s, v]) => [s, Math.round(v[k] * 100) / 100])) as Stages;
  const xrt = (m: Stages) =>
    Object.fromEntries(Object.entries(m).map(([s, v]) => [s, Math.round((seconds / (v / 1000)) * 10) / 10])) as Stages;
  const ms = pick('wall');
  const cpuMs = pick('cpu');
  return {
    audioSeconds: seconds,
    inputRate,
    chunkMs,
    ms,
    timesRealTime: xrt(ms),
    cpuMs,
    cpuTimesRealTime: xrt(cpuMs),
    frames,
    windows,
    resamplerTaps: taps,
    repeats,
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { seconds: { type: 'string', default: '60' }, json: { type: 'string' }, repeats: { type: 'string', default: '3' } },
  });
  const seconds = Number(values.seconds);
  const r = runFrontendBench(seconds, Number(values.repeats));
  console.log(
    `front end on ${r.audioSeconds} s of ${r.inputRate / 1000} kHz audio in ${r.chunkMs} ms chunks (best of ${r.repeats}, ${r.cpu}, node ${r.node}):`,
  );
  const line = (label: string, k: keyof Stages) =>
    console.log(
      `  ${label.padEnd(30)} ${r.ms[k].toFixed(1).padStart(7)} ms wall ${String(r.timesRealTime[k]).padStart(8)}× real time | ${r.cpuMs[k].toFixed(1).padStart(7)} ms CPU ${String(r.cpuTimesRealTime[k]).padStart(8)}×`,
    );
  line(`resample 48k→16k (${r.resamplerTaps} taps)`, 'resample');
  line('log-mel/Δ/ΔΔ features', 'features');
  line('300-frame windows', 'windows');
  line(`whole chain (${r.frames} frames)`, 'total');
  if (values.json) writeFileSync(values.json, JSON.stringify(r, null, 2) + '\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
