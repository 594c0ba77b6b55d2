// `emostream bench --sections scale`: what the bus adds. A redis-server of its own on a free
// loopback port; one RedisBus publishes S sessions and another follows all of them (two
// "nodes" in this process, so one clock times each hop); a posterior-sized message per stream
// every `intervalMs`. Measured: the hop (publish() called → the follower's sink has it) p50/p99,
// messages per second through the bus, and the redis-server's CPU share. A second run publishes
// as fast as the in-flight cap lets it, for the bus's throughput ceiling.
//
// runNodesBench: streams carried by 1, 2 and 3 real `serve --bus` processes sharing that
// redis-server, publishers spread over the nodes, every session followed by a subscriber on
// another node; carried = the capacity section's test (capacity.ts, streams.ts) on the slower of
// the publisher's and the subscriber's latency. Every process here shares one machine's cores.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { RedisBus } from '../bus/redis.js';
import type { FeedSink, SessionBus } from '../bus/types.js';
import type { PosteriorMsg, ReadyMsg } from '../protocol/messages.js';
import { freePort } from '../util/free-port.js';
import { searchCapacity } from './capacity.js';
import { startServerProc, type ServerProc, type ServerProcOptions } from './server-proc.js';
import { runStreams } from './streams.js';

export interface ScaleRow {
  /** 'none': the same load handed over inside this process (the baseline without a bus). */
  bus: 'redis' | 'none';
  /** How late this process's event loop ran at p99 during the run, ms (its own scheduling delay). */
  loopDelayP99Ms: number;
  streams: number;
  /** Messages per stream per second offered (0 = as fast as possible). */
  perStreamHz: number;
  messages: number;
  delivered: number;
  hopP50Ms: number;
  hopP99Ms: number;
  hopMaxMs: number;
  messagesPerSec: number;
  /** redis-server CPU time / wall time over the run (1 = one core busy). */
  redisCpu: number;
  /** This process (both bus clients, JSON, the load generator) CPU time / wall time. */
  nodeCpu: number;
}

async function startRedis(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.once('error', (e) => reject(new Error(`redis-server could not start (${e.message}); apt-get install redis-server`)));
    child.stdout!.on('data', (b) => {
      out += b;
      if (/Ready to accept connections/.test(out)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code})`)));
  });
  child.stdout!.resume();
  return { url: `redis://127.0.0.1:${port}`, child };
}

/** CPU seconds (user + system) of a process so far. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const LABELS = ['angry', 'happy', 'neutral', 'sad'];

type HopBus = Pick<SessionBus, 'claim' | 'publish' | 'follow' | 'release' | 'close'> & { stats(): { inflight: number } };

/**
 * The same hop without Redis: the message is encoded, handed over on the next turn of this
 * process's event loop and decoded. What it measures is the benchmark process's own share of a
 * hop (timers, scheduling, JSON), the baseline to tell the bus's part from the machine's.
 */
function directBus(): HopBus {
  const sinks = new Map<string, FeedSink>();
  const ready = new Map<string, ReadyMsg>();
  let inflight = 0;
  return {
    async claim(m) {
      ready.set(m.session, m);
      return true;
    },
    follow(id, _opts, sink) {
      sinks.set(id, sink);
      setImmediate(() => sink.message(ready.get(id)!));
      return { close: () => sinks.delete(id) };
    },
    publish(id, m) {
      const text = JSON.stringify(m);
      inflight++;
      setImmediate(() => {
        inflight--;
        sinks.get(id)?.message(JSON.parse(text));
      });
    },
    release: (id) => void ready.delete(id),
    close: async () => {},
    stats: () => ({ inflight }),
  };
}

async function oneRun(url: string | undefined, redisPid: number, streams: number, perStreamHz: number, seconds: number): Promise<ScaleRow> {
  const direct = url === undefined ? directBus() : undefined;
  const pub: HopBus = direct ?? (await RedisBus.connect({ url: url!, node: 'bench-publisher', maxInflight: 100_000 }));
  const sub: HopBus = direct ?? (await RedisBus.connect({ url: url!, node: 'bench-follower' }));
  const sent = new Map<string, number>();
  const hops: number[] = [];
  let delivered = 0;
  const ids = Array.from({ length: streams }, (_, i) => `scale-${perStreamHz}-${streams}-${i}`);
  const feeds = [];
  let allReady!: () => void;
  let readyCount = 0;
  const ready = new Promise<void>((r) => (allReady = r));
  for (const id of ids) {
    const msg: ReadyMsg = { type: 'ready', session: id, model: 'bench', labels: LABELS, windowMs: 3000, hopMs: 250, backend: 'bench' };
    if (!(await pub.claim(msg))) throw new Error(`session ${id} exists`);
    feeds.push(
      sub.follow(
        id,
        { waitMs: 0, history: { count: 0, ageMs: 0 } },
        {
          message: (m) => {
            if (m.type === 'ready') {
              if (++readyCount === streams) allReady();
              return;
            }
            if (m.type !== 'posterior') return;
            const t = sent.get(`${id}:${m.seq}`);
            if (t !== undefined) {
              hops.push(performance.now() - t);
              sent.delete(`${id}:${m.seq}`);
            }
            delivered++;
          },
          done: () => {},
        },
      ),
    );
  }
  await ready;
  await new Promise((r) => setTimeout(r, 1200)); // the follower's XREAD now covers every stream
  const posterior = (seq: number): PosteriorMsg => ({
    type: 'posterior',
    seq,
    startMs: seq * 250,
    endMs: seq * 250 + 3000,
    probs: { angry: 0.1, happy: 0.2, neutral: 0.6, sad: 0.1 },
    speech: 1,
    computeMs: 5.2,
    latencyMs: 47.3,
    batchSize: 8,
    channel: 0,
  });
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  const cpu0 = [cpuSeconds(redisPid), process.cpuUsage()] as const;
  const t0 = performance.now();
  let messages = 0;
  if (perStreamHz > 0) {
    // Paced: every stream sends one message per period, spread over the period.
    const periodMs = 1000 / perStreamHz;
    const ticks = Math.round(seconds * perStreamHz);
    for (let k = 0; k < ticks; k++) {
      for (let i = 0; i < streams; i++) {
        const due = t0 + k * periodMs + (i * periodMs) / streams;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        sent.set(`${ids[i]}:${k}`, performance.now());
        pub.publish(ids[i], posterior(k));
        messages++;
      }
    }
  } else {
    // Flat out, in rounds small enough to keep the in-flight cap from dropping anything.
    const total = Math.round(seconds * 4000);
    for (let k = 0; messages < total; k++) {
      for (let i = 0; i < streams && messages < total; i++) {
        sent.set(`${ids[i]}:${k}`, performance.now());
        pub.publish(ids[i], posterior(k));
        messages++;
      }
      while (pub.stats().inflight > 2000) await new Promise((r) => setImmediate(r));
    }
  }
  const drainUntil = performance.now() + 10_000;
  while (delivered < messages && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 5));
  const wall = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu0[1]);
  lag.disable();
  const row: ScaleRow = {
    bus: direct ? 'none' : 'redis',
    loopDelayP99Ms: lag.percentile(99) / 1e6,
    streams,
    perStreamHz,
    messages,
    delivered,
    hopP50Ms: 0,
    hopP99Ms: 0,
    hopMaxMs: 0,
    messagesPerSec: delivered / wall,
    redisCpu: (cpuSeconds(redisPid) - cpu0[0]) / wall,
    nodeCpu: (used.user + used.system) / 1e6 / wall,
  };
  hops.sort((a, b) => a - b);
  row.hopP50Ms = quantile(hops, 0.5);
  row.hopP99Ms = quantile(hops, 0.99);
  row.hopMaxMs = hops[hops.length - 1] ?? NaN;
  for (const f of feeds) f.close();
  for (const id of ids) pub.publish(id, { type: 'end', windows: 0, audioMs: 0, skipped: 0 });
  for (const id of ids) pub.release(id);
  await pub.close();
  await sub.close();
  return row;
}

export async function runScaleBench(o: {
  streams: number[];
  perStreamHz: number;
  seconds: number;
  /** Streams of the no-bus baseline run (default 64). */
  baselineStreams?: number;
  log(line: string): void;
}): Promise<ScaleRow[]> {
  const { url, child } = await startRedis();
  const rows: ScaleRow[] = [];
  try {
    for (const n of o.streams) {
      const r = await oneRun(url, child.pid!, n, o.perStreamHz, o.seconds);
      rows.push(r);
      o.log(
        `scale ${n} streams × ${o.perStreamHz}/s: hop p50 ${r.hopP50Ms.toFixed(2)} p99 ${r.hopP99Ms.toFixed(2)} ms, ${r.delivered}/${r.messages} delivered, ${r.messagesPerSec.toFixed(0)} msg/s, redis CPU ${(100 * r.redisCpu).toFixed(0)}%, bench process ${(100 * r.nodeCpu).toFixed(0)}%, its event loop late ${r.loopDelayP99Ms.toFixed(1)} ms at p99`,
      );
    }
    // The same paced load with no bus: what this process alone adds to a hop.
    const base = await oneRun(undefined, child.pid!, o.baselineStreams ?? 64, o.perStreamHz, o.seconds);
    rows.push(base);
    o.log(
      `scale ${base.streams} streams × ${o.perStreamHz}/s without a bus (in-process hand-over): p50 ${base.hopP50Ms.toFixed(2)} p99 ${base.hopP99Ms.toFixed(2)} ms, event loop late ${base.loopDelayP99Ms.toFixed(1)} ms at p99`,
    );
    const flat = await oneRun(url, child.pid!, 64, 0, o.seconds);
    rows.push(flat);
    o.log(
      `scale 64 streams flat out: ${flat.messagesPerSec.toFixed(0)} msg/s through the bus, hop p50 ${flat.hopP50Ms.toFixed(1)} p99 ${flat.hopP99Ms.toFixed(1)} ms (queueing), redis CPU ${(100 * flat.redisCpu).toFixed(0)}%`,
    );
  } finally {
    child.kill('SIGKILL');
  }
  return rows;
}

export interface NodesTrial {
  streams: number;
  keptUp: boolean;
  reason?: string;
  /** End to end p99 (the slower path), and each path's, ms. */
  p99: number;
  publisherP99: number;
  subscriberP99: number;
  /** Streams published on each node. */
  perNode: number[];
  /** Posteriors due, and those the publishers and the subscribers received. */
  windows: { expected: number; publishers: number; subscribers: number };
  /** Each node's CPU time / wall time over the trial (1 = one core busy). */
  nodeCpu: number[];
  redisCpu: number;
  /** The load generator (this process: every publisher and subscriber socket). */
  benchCpu: number;
  /** How late each node's event loop ran during the trial, p99 and max, ms (its /metrics, which
   *  resets the measure at each scrape; 10 ms resolution). */
  nodeLoopDelayP99Ms: number[];
  nodeLoopDelayMaxMs: number[];
}

export interface NodesRow {
  nodes: number;
  /** ONNX Runtime threads of each node (the total stays at the bench's --threads). */
  threadsPerNode: number;
  capacity: number;
  limitReached: boolean;
  trials: NodesTrial[];
}

/** A node's event-loop delay since its last /metrics scrape (prom-client resets it at each), ms. */
async function loopDelay(node: ServerProc): Promise<{ p99: number; max: number }> {
  try {
    const text = await (await fetch(`${node.url}metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]) * 1000;
    return { p99: value('nodejs_eventloop_lag_p99_seconds'), max: value('nodejs_eventloop_lag_max_seconds') };
  } catch {
    return { p99: NaN, max: NaN };
  }
}

export async function runNodesBench(o: {
  nodeCounts: number[];
  ladder: number[];
  bisect: boolean;
  audio: Buffer;
  audioSeconds: number;
  /** Server settings every node gets (its --bus and --node-id are added here). */
  server: ServerProcOptions;
  log(line: string): void;
}): Promise<NodesRow[]> {
  const rows: NodesRow[] = [];
  for (const k of o.nodeCounts) {
    const { url, child } = await startRedis();
    const threadsPerNode = Math.max(1, Math.floor((o.server.threads ?? 1) / k));
    const nodes: ServerProc[] = [];
    try {
      for (let i = 0; i < k; i++)
        nodes.push(
          await startServerProc({
            ...o.server,
            threads: threadsPerNode,
            args: [...(o.server.args ?? []), '--bus', url, '--node-id', `n${i + 1}`],
          }),
        );
      const row: NodesRow = { nodes: k, threadsPerNode, capacity: 0, limitReached: false, trials: [] };
      const found = await searchCapacity(o.ladder, o.bisect, async (n) => {
        await Promise.all(nodes.map(loopDelay)); // starts each node's measure afresh
        const before = [nodes.map((s) => cpuSeconds(s.pid)), cpuSeconds(child.pid!), process.cpuUsage()] as const;
        const t0 = performance.now();
        const r = await runStreams({
          wsUrl: nodes[0].wsUrl,
          nodes: nodes.map((s) => s.wsUrl),
          subscribers: true,
          streams: n,
          hopMs: 1000,
          seconds: o.audioSeconds,
          audio: o.audio,
        });
        const wall = (performance.now() - t0) / 1000;
        const bench = process.cpuUsage(before[2]);
        const lags = await Promise.all(nodes.map(loopDelay));
        const t: NodesTrial = {
          streams: n,
          keptUp: r.keptUp,
          reason: r.reason,
          p99: r.latency.p99,
          publisherP99: r.publisherLatency.p99,
          subscriberP99: r.subscriberLatency.p99,
          perNode: r.perNode,
          windows: { expected: r.windowsExpected, publishers: r.windowsReceived, subscribers: r.subscriberWindows },
          nodeCpu: nodes.map((s, i) => (cpuSeconds(s.pid) - before[0][i]) / wall),
          redisCpu: (cpuSeconds(child.pid!) - before[1]) / wall,
          benchCpu: (bench.user + bench.system) / 1e6 / wall,
          nodeLoopDelayP99Ms: lags.map((l) => l.p99),
          nodeLoopDelayMaxMs: lags.map((l) => l.max),
        };
        row.trials.push(t);
        o.log(
          `scale ${k} node(s), ${n} streams (${t.perNode.join('/')} per node): ${t.keptUp ? 'kept up' : `failed (${t.reason})`}, p99 ${t.p99.toFixed(1)} ms (subscriber ${t.subscriberP99.toFixed(1)}); CPU nodes ${t.nodeCpu.map((c) => `${(100 * c).toFixed(0)}%`).join(' ')}, node event loops late p99 ${t.nodeLoopDelayP99Ms.map((x) => x.toFixed(0)).join(' ')} (max ${t.nodeLoopDelayMaxMs.map((x) => x.toFixed(0)).join(' ')}) ms, redis ${(100 * t.redisCpu).toFixed(0)}%, load generator ${(100 * t.benchCpu).toFixed(0)}%`,
        );
        return r.keptUp;
      });
      row.capacity = found.capacity;
      row.limitReached = found.limitReached;
      rows.push(row);
      o.log(`scale ${k} node(s): ${row.capacity}${row.limitReached ? '+' : ''} streams carried`);
    } finally {
      await Promise.all(nodes.map((s) => s.stop()));
      child.kill('SIGKILL');
    }
  }
  return rows;
}
