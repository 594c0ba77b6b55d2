// The whole benchmark: engine throughput, end-to-end latency, capacity and memory against a
// real server process on loopback, the front end, and the machine's compute ceiling. Prints
// Markdown tables and returns (and optionally writes) one JSON report.
//
//   npx emostream bench [--quick] [--out runs/bench.json]
import type { NodesRow, ScaleRow } from './scale.js';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { resolveConfig, type StaCrnnConfig } from '../model/sta-crnn.js';
import { searchCapacity } from './capacity.js';
import { corpusSignal, toS16le } from './corpus.js';
import { runEngineBench, type EngineRow } from './engine.js';
import { staCrnnFlops } from './flops.js';
import { paperWidthModel, shippedModel, type BenchModel } from './models.js';
import { measurePeakGflops, type PeakResult } from './peak.js';
import { startServerProc, type ServerProcOptions } from './server-proc.js';
import { P99_LIMIT_MS, runStreams, type StreamLoadResult } from './streams.js';
import type { EventsResult } from './events.js';
import type { EventsCorpus } from './sequences.js';
import type { CorpusRoots } from '../train/corpus.js';

export interface EventsSelection {
  /** A corpus through the training loaders (src/train/corpus.ts), four labels. */
  corpus?: EventsCorpus;
  /** Its speakers, comma-separated ("03,08" or "emodb-03"); default all (RAVDESS: 13–24). */
  speakers?: string;
  /** Utterances per sequence (one session each); 1 = one file per session. Default 6. */
  perSequence?: number;
  /** Sessions streamed at once (default 2). */
  concurrency?: number;
  /** Seed of the sample's order (default 11). */
  seed?: number;
  roots?: CorpusRoots;
}

/** Whether a model's recorded training (meta.json "training") heard `corpus`. */
export function heldOutNote(training: { corpus?: string; protocol?: string; fold?: string } | undefined, corpus: string): string {
  if (!training?.corpus) return "the model's training corpora are not recorded: held out unknown";
  const parts: string[] =
    training.corpus === 'train4'
      ? ['emodb', 'ravdess', 'ravdess-song', 'nemo', 'ased']
      : training.corpus === 'basic4'
        ? ['emodb', 'ravdess']
        : [training.corpus];
  if (training.protocol === 'loco' && training.fold === `corpus ${corpus}`)
    // RAVDESS speech and song share their actors: leaving one out still trains on the speakers.
    return corpus === 'ravdess' && parts.includes('ravdess-song')
      ? 'its speakers were heard in RAVDESS song: not held out'
      : `held out: the model's leave-one-corpus-out fold never heard ${corpus}`;
  if (!parts.includes(corpus)) return `held out: not among the model's training corpora (${training.corpus})`;
  return `seen in the model's training (${training.corpus}, protocol ${training.protocol ?? '?'}): not held out`;
}

export type Section = 'peak' | 'engine' | 'latency' | 'capacity' | 'memory' | 'frontend' | 'scale' | 'events';
export const SECTIONS: Section[] = ['peak', 'engine', 'latency', 'capacity', 'memory', 'frontend', 'scale', 'events'];

/** What each section runs; the defaults depend on quick/full, tests shrink them further. */
export interface BenchPlan {
  engines: string[];
  engineBatches: number[];
  engineSeconds: number;
  latencyStreams: number[];
  capacityHops: number[];
  capacityLadder: number[];
  /** Audio seconds per stream in each latency/capacity/memory trial. */
  audioSeconds: number;
  frontendSeconds: number;
  /** Streams for the memory figure when no capacity was measured. */
  memoryStreams: number;
  /** Labelled utterances the events section streams (sequences of six, all at once). */
  eventsFiles: number;
  /** Scale section: seconds per bus-hop run; node counts for streams carried; their stream-count ladder. */
  scaleSeconds: number;
  scaleNodes: number[];
  scaleLadder: number[];
}

export function defaultPlan(quick: boolean): BenchPlan {
  return quick
    ? {
        engines: ['tfjs', 'onnx:1', 'onnx:2'],
        engineBatches: [1, 8],
        engineSeconds: 0.5,
        latencyStreams: [1, 8],
        capacityHops: [1000],
        capacityLadder: [8, 32],
        audioSeconds: 6,
        frontendSeconds: 10,
        memoryStreams: 8,
        eventsFiles: 12,
        scaleSeconds: 5,
        scaleNodes: [1, 2, 3],
        scaleLadder: [32, 64, 96, 128, 160, 192, 224, 256],
      }
    : {
        engines: ['tfjs', 'onnx:1', 'onnx:2'],
        engineBatches: [1, 8, 32],
        engineSeconds: 2,
        latencyStreams: [1, 8, 32, 64],
        capacityHops: [1000, 500],
        capacityLadder: [16, 32, 48, 64, 96, 128, 192, 256],
        audioSeconds: 10,
        frontendSeconds: 30,
        memoryStreams: 32,
        eventsFiles: 48,
        scaleSeconds: 15,
        scaleNodes: [1, 2, 3],
        scaleLadder: [16, 32, 48, 64, 96, 128, 192, 256],
      };
}

export type ModelChoice = 'paper' | 'paper-int8' | 'shipped' | 'shipped-int8';
export const MODEL_CHOICES: ModelChoice[] = ['paper', 'paper-int8', 'shipped', 'shipped-int8'];

export interface BenchOptions {
  plan?: Partial<BenchPlan>;
  quick: boolean;
  models: ModelChoice[];
  sections: Section[];
  /** Server settings under test. */
  threads: number;
  maxBatch: number;
  maxWaitMs: number;
  /** Shipped model directory. */
  shippedDir?: string;
  /** A GPU provider to compare with the CPU provider in the engine section (and to serve with in
   *  the server sections); the engine section then runs batch 1…512 unless plan says otherwise. */
  provider?: 'cpu' | 'webgpu' | 'cuda';
  /** Speech to stream: audio files under this folder (default ../shared/data/emodb/wav). */
  audioDir?: string;
  /** The events section's speech (default: RAVDESS actors 13–24, sequences of six, two at a time). */
  events?: EventsSelection;
  /** Measure latency and capacity against this running server instead of a child process. */
  url?: string;
  /** Publish token for `url`. */
  token?: string;
  out?: string;
  log: (line: string) => void;
}

interface LatencyRow {
  model: string;
  streams: number;
  hopMs: number;
  result: StreamLoadResult;
}
interface CapacityRow {
  model: string;
  hopMs: number;
  capacity: number;
  limitReached: boolean;
  trials: { streams: number; keptUp: boolean; p99: number; reason?: string }[];
}
interface MemoryRow {
  model: string;
  idleRssMB: number;
  fewStreams: number;
  fewPeakRssMB: number;
  streams: number;
  peakRssMB: number;
  perStreamMB: number;
}

export interface BenchReport {
  date: string;
  mode: 'quick' | 'full';
  machine: { cpu: string; cores: number; memGB: number; node: string; loadAvgAtStart: number[]; otherBusyProcesses: string[] };
  settings: { engine: string; provider: string; threads: number; maxBatch: number; maxWaitMs: number; chunkMs: number; p99LimitMs: number };
  models: (BenchModel & { gflopPerWindow: number })[];
  peak?: PeakResult[];
  engine?: EngineRow[];
  latency?: LatencyRow[];
  capacity?: CapacityRow[];
  memory?: MemoryRow[];
  frontend?: unknown;
  /** Live events and turns on labelled sequences (bench/events.ts); the shipped model only. */
  events?: (EventsResult & { corpus: string; model: string }) | { error: string };
  /** The bus hop (docs/deploy.md): rows at 1/64/256 paced streams, then 64 flat out. */
  scale?: ScaleRow[] | { error: string };
  /** Streams carried by 1, 2, 3 `serve --bus` nodes on this machine, each session with a subscriber on another node. */
  scaleNodes?: NodesRow[] | { error: string };
  ceiling?: { model: string; windowsPerSecAtPeak: number; measuredWindowsPerSec: number; fractionOfPeak: number }[];
  elapsedSec: number;
  /** The audio streamed (a folder, or Emo-DB). */
  audio?: string;
  /** The remote server measured (--url), when it was not a local child process. */
  remote?: string;
}

/** CPU-heavy processes that are not this benchmark (they make timings noisy). */
function otherBusyProcesses(): string[] {
  try {
    const out = execFileSync('ps', ['-eo', 'pid,stat,pcpu,args', '--sort=-pcpu'], { encoding: 'utf8' });
    return out
      .split('\n')
      .slice(1)
      .map((l) => l.trim())
      .filter((l) => {
        // ps's %CPU is an average over the process's life: a stopped one (state T, e.g. a training
        // paused for a measurement) shows its past load but takes nothing now.
        const [pid, stat, cpu] = l.split(/\s+/);
        return l && !stat.startsWith('T') && Number(cpu) >= 20 && Number(pid) !== process.pid;
      })
      .map((l) => l.replace(/^(\S+)\s+\S+\s+/, '$1 ').slice(0, 160));
  } catch {
    return [];
  }
}

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');
const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(0)} %` : '–');

function table(head: string[], rows: (string | number)[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** A server URL as the stream runner wants it: ws(s)://host:port/ (any /v1/stream path dropped). */
export function remoteBase(url: string): string {
  return url
    .replace(/^http/, 'ws')
    .replace(/\/v1\/stream\/?$/, '')
    .replace(/\/?$/, '/');
}

async function withServer<T>(o: ServerProcOptions, fn: (s: Awaited<ReturnType<typeof startServerProc>>) => Promise<T>): Promise<T> {
  const srv = await startServerProc(o);
  try {
    return await fn(srv);
  } finally {
    await srv.stop();
  }
}

export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  const t0 = performance.now();
  const log = opts.log;
  const q = opts.quick;
  const provider = opts.provider ?? 'cpu';
  const gpuPlan: Partial<BenchPlan> =
    provider === 'cpu'
      ? {}
      : { engines: [`onnx:${opts.threads}`, `onnx-${provider}:${opts.threads}`], engineBatches: q ? [1, 8, 64] : [1, 8, 32, 128, 512] };
  const plan = { ...defaultPlan(q), ...gpuPlan, ...opts.plan };
  const report: BenchReport = {
    date: new Date().toISOString(),
    mode: q ? 'quick' : 'full',
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: availableParallelism(),
      memGB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      loadAvgAtStart: loadavg().map((x) => Number(x.toFixed(2))),
      otherBusyProcesses: otherBusyProcesses(),
    },
    settings: {
      engine: 'onnx',
      provider,
      threads: opts.threads,
      maxBatch: opts.maxBatch,
      maxWaitMs: opts.maxWaitMs,
      chunkMs: 20,
      p99LimitMs: P99_LIMIT_MS,
    },
    models: [],
    elapsedSec: 0,
  };
  if (report.machine.otherBusyProcesses.length)
    log(`note: other busy processes (timings will be noisy):\n  ${report.machine.otherBusyProcesses.join('\n  ')}`);

  // A remote server serves its own model: only the local sections need ours.
  const local = opts.sections.some(
    (s) => s === 'engine' || (!opts.url && (s === 'latency' || s === 'capacity' || s === 'memory' || s === 'scale')),
  );
  const models: BenchModel[] = [];
  for (const choice of local ? opts.models : []) {
    const precision = choice.endsWith('-int8') ? ('int8' as const) : ('fp32' as const);
    models.push(choice.startsWith('paper') ? await paperWidthModel(precision) : await shippedModel(opts.shippedDir, precision));
  }
  for (const m of models) {
    const arch = JSON.parse(readFileSync(join(m.dir, 'meta.json'), 'utf8')).arch as StaCrnnConfig;
    report.models.push({ ...m, gflopPerWindow: staCrnnFlops(resolveConfig(arch)).total / 1e9 });
  }
  const audioSeconds = plan.audioSeconds;
  const streaming = opts.sections.some((s) => s === 'latency' || s === 'capacity' || s === 'memory' || (s === 'scale' && !opts.url));
  const audio = streaming ? toS16le(await corpusSignal(120, opts.audioDir)) : Buffer.alloc(0);
  if (streaming) report.audio = opts.audioDir ?? 'Emo-DB (../shared/data/emodb/wav)';
  /** Where the streams go: a server child process per model, or the one remote server. */
  const targets: { label: string; run<T>(fn: (srv: { wsUrl: string; rss(): number }) => Promise<T>): Promise<T> }[] = opts.url
    ? [{ label: `remote ${opts.url}`, run: (fn) => fn({ wsUrl: remoteBase(opts.url!), rss: () => NaN }) }]
    : models.map((m) => ({ label: m.label, run: (fn) => withServer(server(m), fn) }));
  if (opts.url) report.remote = opts.url;
  const server = (m: BenchModel): ServerProcOptions => ({
    model: m.dir,
    engine: 'onnx',
    provider,
    threads: opts.threads,
    maxBatch: opts.maxBatch,
    maxWaitMs: opts.maxWaitMs,
  });

  if (opts.sections.includes('peak')) {
    report.peak = [];
    for (const t of [1, 2]) {
      const r = await measurePeakGflops(t, q ? 0.5 : 2);
      report.peak.push(r);
      log(`peak: ORT ${r.n}×${r.n} MatMul, ${t} thread(s): ${f1(r.gflops)} GFLOP/s`);
    }
  }

  if (opts.sections.includes('engine')) {
    report.engine = [];
    for (const m of models) {
      // tfjs runs the float weights only; int8 rows are compared with their float model's tfjs rows.
      const engines = m.precision === 'int8' ? plan.engines.filter((e) => e !== 'tfjs') : plan.engines;
      report.engine.push(
        ...(await runEngineBench(m, {
          batches: plan.engineBatches,
          seconds: plan.engineSeconds,
          engines,
          log,
        })),
      );
    }
  }

  if (opts.sections.includes('latency')) {
    report.latency = [];
    for (const m of targets) {
      await m.run(async (srv) => {
        for (const n of plan.latencyStreams) {
          const r = await runStreams({ wsUrl: srv.wsUrl, token: opts.token, streams: n, hopMs: 1000, seconds: audioSeconds, audio });
          report.latency!.push({ model: m.label, streams: n, hopMs: 1000, result: r });
          log(
            `latency ${m.label} ${n} streams: p50 ${f1(r.latency.p50)} p95 ${f1(r.latency.p95)} p99 ${f1(r.latency.p99)} ms (server ${f1(r.serverLatency.p99)} p99), ${r.windowsReceived}/${r.windowsExpected} windows${r.keptUp ? '' : `, NOT kept up: ${r.reason}`}`,
          );
        }
      });
    }
  }

  if (opts.sections.includes('capacity')) {
    report.capacity = [];
    for (const m of targets) {
      for (const hopMs of plan.capacityHops) {
        const row: CapacityRow = { model: m.label, hopMs, capacity: 0, limitReached: false, trials: [] };
        await m.run(async (srv) => {
          const trial = async (n: number) => {
            const r = await runStreams({ wsUrl: srv.wsUrl, token: opts.token, streams: n, hopMs, seconds: audioSeconds, audio });
            row.trials.push({ streams: n, keptUp: r.keptUp, p99: r.latency.p99, reason: r.reason });
            log(
              `capacity ${m.label} hop ${hopMs} ms, ${n} streams: ${r.keptUp ? 'kept up' : `failed (${r.reason})`}, p99 ${f1(r.latency.p99)} ms`,
            );
            return r.keptUp;
          };
          const found = await searchCapacity(plan.capacityLadder, !q, trial);
          row.capacity = found.capacity;
          row.limitReached = found.limitReached;
        });
        report.capacity.push(row);
        log(`capacity ${m.label} hop ${hopMs} ms: ${row.capacity}${row.limitReached ? '+ (largest count tried)' : ''} streams`);
      }
    }
  }

  if (opts.sections.includes('memory') && opts.url) log('memory: not measured against a remote server (it needs the server process)');
  if (opts.sections.includes('memory') && !opts.url) {
    report.memory = [];
    for (const m of models) {
      const cap = report.capacity?.find((c) => c.model === m.label && c.hopMs === 1000)?.capacity;
      const n = Math.max(1, cap || plan.memoryStreams);
      await withServer(server(m), async (srv) => {
        await new Promise((r) => setTimeout(r, 1000));
        const idle = srv.rss();
        // The first streams also pay one-off costs (code paths compiled, ORT arenas grown for
        // batches); the cost of one more stream is the slope between a few streams and many.
        const peakWith = async (k: number) => {
          let peak = srv.rss();
          await runStreams({
            wsUrl: srv.wsUrl,
            streams: k,
            hopMs: 1000,
            seconds: audioSeconds,
            audio,
            onTick: () => {
              peak = Math.max(peak, srv.rss());
            },
          });
          return peak;
        };
        const few = Math.max(1, Math.min(4, n - 1));
        const base = n > 1 ? await peakWith(few) : idle;
        const peak = Math.max(base, await peakWith(n));
        const row: MemoryRow = {
          model: m.label,
          idleRssMB: idle / 1e6,
          fewStreams: few,
          fewPeakRssMB: base / 1e6,
          streams: n,
          peakRssMB: peak / 1e6,
          perStreamMB: n > few ? (peak - base) / 1e6 / (n - few) : (peak - idle) / 1e6,
        };
        report.memory!.push(row);
        log(
          `memory ${m.label}: idle ${f1(row.idleRssMB)} MB, ${few} streams ${f1(row.fewPeakRssMB)} MB, ${n} streams ${f1(row.peakRssMB)} MB: ${f2(row.perStreamMB)} MB per added stream`,
        );
      });
    }
  }

  if (opts.sections.includes('frontend')) {
    try {
      const { runFrontendBench } = await import('./frontend.js');
      const r = runFrontendBench(plan.frontendSeconds, q ? 1 : 3);
      report.frontend = r;
      log(`front end: ${f1(r.timesRealTime.total)}× real time on one core (48 kHz in → windows)`);
    } catch (err) {
      report.frontend = { error: (err as Error).message };
      log(`front end: not measured (${(err as Error).message})`);
    }
  }

  if (opts.sections.includes('scale')) {
    try {
      const { runScaleBench } = await import('./scale.js');
      report.scale = await runScaleBench({ streams: [1, 64, 256], perStreamHz: 4, seconds: plan.scaleSeconds, log });
    } catch (err) {
      report.scale = { error: (err as Error).message };
      log(`scale: not measured (${(err as Error).message})`);
    }
    // Whole nodes (model included) need this machine's server processes: not with --url.
    const m = models.find((x) => x.label.startsWith('shipped') && x.precision === 'fp32') ?? models[0];
    if (opts.url) log('scale: streams carried by 1/2/3 nodes are not measured against a remote server');
    else if (m && plan.scaleNodes.length) {
      try {
        const { runNodesBench } = await import('./scale.js');
        report.scaleNodes = await runNodesBench({
          nodeCounts: plan.scaleNodes,
          ladder: plan.scaleLadder,
          bisect: !q,
          audio,
          audioSeconds,
          server: server(m),
          log,
        });
      } catch (err) {
        report.scaleNodes = { error: (err as Error).message };
        log(`scale nodes: not measured (${(err as Error).message})`);
      }
    }
  }

  if (report.peak && report.engine) {
    // The two-core float32 ceiling: twice the best one-thread MatMul rate (two-thread MatMul is
    // reported too, but on a shared machine it mostly measures the other processes).
    const peak1 = report.peak.find((p) => p.threads === 1)!.gflops;
    report.ceiling = report.models.map((m) => {
      const best = Math.max(...report.engine!.filter((r) => r.model === m.label).map((r) => r.windowsPerSec));
      const atPeak = (2 * peak1) / m.gflopPerWindow;
      return { model: m.label, windowsPerSecAtPeak: atPeak, measuredWindowsPerSec: best, fractionOfPeak: best / atPeak };
    });
  }
  if (opts.sections.includes('events')) {
    const { runEventsBench } = await import('./events.js');
    const { RAVDESS_DIR, corpusFiles, ravdessSpeechFiles, seededRandom, shuffle, speakerFilter } = await import('./sequences.js');
    const sel = opts.events ?? {};
    try {
      const shipped = await shippedModel(opts.shippedDir);
      const training = JSON.parse(readFileSync(join(shipped.dir, 'meta.json'), 'utf8')).training;
      let all;
      let corpus: string;
      if (opts.audioDir && !sel.corpus) {
        all = ravdessSpeechFiles(opts.audioDir);
        if (all.length === 0) throw new Error(`no RAVDESS-named speech files (03-01-EE-…) in ${opts.audioDir}`);
        corpus = `${opts.audioDir} (RAVDESS-named files)`;
      } else if ((sel.corpus ?? 'ravdess') === 'ravdess' && !sel.speakers && !sel.roots?.data) {
        // RAVDESS actors 13-24 by default (the half the decision settings were not first chosen on).
        all = ravdessSpeechFiles(RAVDESS_DIR, (a) => a >= 13);
        corpus = `RAVDESS actors 13-24 (${heldOutNote(training, 'ravdess')})`;
      } else {
        const name = sel.corpus ?? 'ravdess';
        all = await corpusFiles(name, { speakers: speakerFilter(name, sel.speakers), roots: sel.roots });
        corpus = `${name}${sel.speakers ? ` speakers ${sel.speakers}` : ''} (${heldOutNote(training, name)})`;
      }
      const files = shuffle(all, seededRandom(sel.seed ?? 11)).slice(0, plan.eventsFiles);
      const run = (wsUrl: string) =>
        runEventsBench({
          wsUrl,
          token: opts.token,
          modelDir: shipped.dir,
          files,
          perSequence: sel.perSequence,
          concurrency: sel.concurrency,
          log,
        });
      const r = opts.url ? await run(remoteBase(opts.url)) : await withServer(server(shipped), (srv) => run(srv.wsUrl));
      report.events = { ...r, corpus, model: opts.url ? `remote ${opts.url} (offline: ${shipped.label})` : shipped.label };
      log(
        `events: utterance UA ${pct(r.utteranceMessages.ua)} vs utterance-level ${pct(r.utteranceLevel.ua)}; state 1 s after ${pct(r.stateAfter1s.accuracy)}; first event right ${r.firstEvent.right}/${r.firstEvent.n}; turn end → utterance p50 ${f1(r.utteranceDelayStreamMs.p50)} ms stream`,
      );
    } catch (err) {
      report.events = { error: (err as Error).message };
      log(`events: not measured (${(err as Error).message})`);
    }
  }
  report.elapsedSec = (performance.now() - t0) / 1000;
  if (opts.out) {
    mkdirSync(dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, JSON.stringify(report, null, 1) + '\n');
  }
  return report;
}

/** The report as Markdown tables. */
export function formatReport(r: BenchReport): string {
  const out: string[] = [];
  out.push(`emostream bench (${r.mode}), ${r.date}, ${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}`);
  const speech = r.audio ? `; clients send 20 ms chunks of ${r.audio} in real time` : '';
  out.push(
    r.remote
      ? `server: ${r.remote} (remote: its own model and settings)${speech}`
      : `server: ONNX Runtime (${r.settings.provider ?? 'cpu'} provider), ${r.settings.threads} threads, max batch ${r.settings.maxBatch}, max wait ${r.settings.maxWaitMs} ms${speech}`,
  );
  if (r.machine.otherBusyProcesses.length) out.push(`NOTE: other CPU-heavy processes were running: ${r.machine.otherBusyProcesses.length}`);
  if (r.models.length)
    out.push(
      '',
      table(
        ['model', 'GFLOP/window'],
        r.models.map((m) => [m.label, f2(m.gflopPerWindow)]),
      ),
    );
  if (r.peak)
    out.push(
      '',
      table(
        ['machine ceiling', 'GFLOP/s'],
        r.peak.map((p) => [`ORT ${p.n}² MatMul, ${p.threads} thread(s)`, f1(p.gflops)]),
      ),
    );
  if (r.engine) {
    out.push(
      '',
      '### Engine throughput',
      '',
      table(
        ['model', 'engine', 'batch', 'ms/window', 'windows/s', 'p50 / p99 ms per batch', 'vs tfjs (same batch)'],
        r.engine.map((e) => {
          const tf = r.engine!.find((x) => x.base === e.base && x.engine === 'tfjs' && x.batch === e.batch);
          return [
            e.model,
            e.backend,
            e.batch,
            f2(e.msPerWindow),
            f1(e.windowsPerSec),
            `${f1(e.p50Ms)} / ${f1(e.p99Ms)}`,
            tf ? `${f1(e.windowsPerSec / tf.windowsPerSec)}×` : '–',
          ];
        }),
      ),
    );
  }
  if (r.ceiling)
    out.push(
      '',
      table(
        ['model', 'windows/s at the float32 ceiling (2 × one-thread MatMul)', 'best measured', 'fraction'],
        r.ceiling.map((c) => [c.model, f1(c.windowsPerSecAtPeak), f1(c.measuredWindowsPerSec), `${(100 * c.fractionOfPeak).toFixed(0)}%`]),
      ),
    );
  if (r.latency) {
    out.push(
      '',
      '### End-to-end latency (hop 1 s): last audio sample sent → posterior received',
      '',
      table(
        ['model', 'streams', 'p50 ms', 'p95 ms', 'p99 ms', 'server p99 ms', 'compute p50 ms', 'mean batch', 'windows', 'kept up'],
        r.latency.map((l) => [
          l.model,
          l.streams,
          f1(l.result.latency.p50),
          f1(l.result.latency.p95),
          f1(l.result.latency.p99),
          f1(l.result.serverLatency.p99),
          f1(l.result.computeMs.p50),
          f2(l.result.batchSize.mean),
          `${l.result.windowsReceived}/${l.result.windowsExpected}`,
          l.result.keptUp ? 'yes' : `no: ${l.result.reason}`,
        ]),
      ),
    );
  }
  if (r.capacity) {
    out.push(
      '',
      `### Capacity: most real-time streams with every window answered and p99 < ${r.settings.p99LimitMs} ms`,
      '',
      table(
        ['model', 'hop', 'streams', 'trials (streams: p99 ms)'],
        r.capacity.map((c) => [
          c.model,
          `${c.hopMs / 1000} s`,
          `${c.capacity}${c.limitReached ? '+' : ''}`,
          c.trials.map((t) => `${t.streams}: ${f1(t.p99)}${t.keptUp ? '' : '✗'}`).join(', '),
        ]),
      ),
    );
  }
  if (r.memory) {
    out.push(
      '',
      '### Server memory (RSS; per added stream = slope between the two loads)',
      '',
      table(
        ['model', 'idle MB', 'few streams: peak MB', 'many streams: peak MB', 'MB per added stream'],
        r.memory.map((m) => [
          m.model,
          f1(m.idleRssMB),
          `${m.fewStreams}: ${f1(m.fewPeakRssMB)}`,
          `${m.streams}: ${f1(m.peakRssMB)}`,
          f2(m.perStreamMB),
        ]),
      ),
    );
  }
  const fe = r.frontend as { timesRealTime?: { total: number }; error?: string } | undefined;
  if (fe)
    out.push(
      '',
      fe.timesRealTime
        ? `Front end (48 kHz → windows, one core): ${f1(fe.timesRealTime.total)}× real time`
        : `Front end: not measured (${fe.error})`,
    );
  if (r.scale && 'error' in r.scale) out.push('', `Bus (scale): not measured (${r.scale.error})`);
  else if (r.scale)
    out.push(
      '',
      '### Bus hop (scale): publish on one node → a subscriber on another gets it, through redis-server on loopback',
      '',
      table(
        [
          'via',
          'streams',
          'offered',
          'delivered',
          'hop p50 ms',
          'hop p99 ms',
          'max ms',
          'msg/s',
          'redis CPU',
          'bench process CPU',
          'its event loop late, p99 ms',
        ],
        r.scale.map((x) => [
          x.bus === 'none' ? 'no bus (in-process baseline)' : 'redis',
          x.streams,
          x.perStreamHz > 0 ? `${x.perStreamHz}/s each` : 'flat out',
          `${x.delivered}/${x.messages}`,
          f2(x.hopP50Ms),
          f2(x.hopP99Ms),
          f1(x.hopMaxMs),
          x.messagesPerSec.toFixed(0),
          `${(100 * x.redisCpu).toFixed(0)}%`,
          `${(100 * x.nodeCpu).toFixed(0)}%`,
          f1(x.loopDelayP99Ms),
        ]),
      ),
    );
  if (r.scaleNodes && 'error' in r.scaleNodes) out.push('', `Nodes (scale): not measured (${r.scaleNodes.error})`);
  else if (r.scaleNodes) {
    const cpu = (xs: number[]) => xs.map((c) => `${(100 * c).toFixed(0)}%`).join(' / ');
    out.push(
      '',
      `### Streams carried by 1, 2, 3 \`serve --bus\` nodes on this machine (${r.machine.cores} cores shared by every node, redis-server and the load generator): publishers spread over the nodes, each session followed by a subscriber on another node (on the same node when there is one), p99 < ${r.settings.p99LimitMs} ms on the slower of publisher and subscriber`,
      '',
      table(
        [
          'nodes',
          'threads per node',
          'streams carried',
          'at that count: p99 ms publisher / subscriber',
          'streams per node',
          'CPU per node',
          'event loop late per node, p99 / max ms',
          'redis CPU',
          'load generator CPU',
          'trials (streams: p99 ms)',
        ],
        r.scaleNodes.map((x) => {
          const at = x.trials.find((t) => t.streams === x.capacity && t.keptUp);
          return [
            x.nodes,
            x.threadsPerNode,
            `${x.capacity}${x.limitReached ? '+' : ''}`,
            at ? `${f1(at.publisherP99)} / ${f1(at.subscriberP99)}` : '–',
            at ? at.perNode.join(' / ') : '–',
            at ? cpu(at.nodeCpu) : '–',
            at ? at.nodeLoopDelayP99Ms.map((p, i) => `${f1(p)} / ${f1(at.nodeLoopDelayMaxMs[i])}`).join(', ') : '–',
            at ? pct(at.redisCpu) : '–',
            at ? pct(at.benchCpu) : '–',
            x.trials.map((t) => `${t.streams}: ${f1(t.p99)}${t.keptUp ? '' : '✗'}`).join(', '),
          ];
        }),
      ),
      '',
      'Every node, redis-server and the load generator share the same cores here, so more nodes split the same CPU: this measures what the bus and the extra processes cost, not how a cluster of separate machines scales.',
    );
  }
  if (r.events && 'error' in r.events) out.push('', `Events: not measured (${r.events.error})`);
  else if (r.events) {
    const e = r.events;
    const sc = (s: { right: number; n: number; ua: number }) => `${s.right}/${s.n}, UA ${pct(s.ua)}`;
    const sp = (s: { n: number; p50: number; p90: number }) => `${f1(s.p50)} / ${f1(s.p90)} (n ${s.n})`;
    out.push(
      '',
      `### Events and turns: ${e.files} utterances of ${e.corpus}, in ${e.sequences} sequence(s) of ${e.perSequence} with ${e.gapMs} ms of quiet between, streamed in real time, ${e.concurrency} at a time (hop ${e.hopMs} ms, early window ${e.minWindowMs} ms; ${e.model})`,
      '',
      table(
        ['measure', 'value'],
        [
          ['utterance-level, offline (mean window posterior of each file)', sc(e.utteranceLevel)],
          [
            `\`utterance\` message of each file's turn (${e.utteranceMessages.turns} turns, ${e.utteranceMessages.filesWithoutTurn} files without one)`,
            sc(e.utteranceMessages),
          ],
          ['emotion state 1 s after the turn ends', sc(e.stateAfter1s)],
          // In a sequence a turn whose label is the one already shown sends no event: this row
          // means "the first event is right" only with one file per session.
          ...(e.perSequence === 1 ? [["the session's first `emotion` event (one file per session)", sc(e.firstEvent)]] : []),
          [`turn start → first right \`emotion\` event, ms p50 / p90 (${e.firstRightEventMs.never} never)`, sp(e.firstRightEventMs)],
          ['turn end → its `utterance` message, ms of stream time p50 / p90', sp(e.utteranceDelayStreamMs)],
          ['turn end → its `utterance` message, ms of wall time p50 / p90', sp(e.utteranceDelayWallMs)],
        ],
      ),
    );
    if (e.unfinished) out.push(`${e.unfinished} session(s) did not end in time`);
    const errs = Object.entries(e.errors);
    out.push(
      `server errors: ${errs.length ? errs.map(([c, n]) => `${c} ×${n}`).join(', ') : 'none'}; the client fell ${f1(e.clientLagMs)} ms behind real time at worst`,
    );
  }
  out.push('', `(${r.elapsedSec.toFixed(0)} s)`);
  return out.join('\n');
}
