// `emostream bench --sections scale`: what the bus adds. A redis-server of its own on a free
// loopback port; one RedisBus publishes S sessions and another follows all of them (two
// "nodes" in this process, so one clock times each hop); a posterior-sized message per stream
// every `intervalMs`. Measured: the hop (publish() called → the follower's sink has it) p50/p99,
// messages per second through the bus, and the redis-server's CPU share. A second run publishes
// as fast as the in-flight cap lets it, for the bus's throughput ceiling.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { RedisBus } from '../bus/redis.js';
import type { PosteriorMsg, ReadyMsg } from '../protocol/messages.js';
import { freePort } from '../util/free-port.js';

export interface ScaleRow {
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

async function oneRun(url: string, redisPid: number, streams: number, perStreamHz: number, seconds: number): Promise<ScaleRow> {
  const pub = await RedisBus.connect({ url, node: 'bench-publisher', maxInflight: 100_000 });
  const sub = await RedisBus.connect({ url, node: 'bench-follower' });
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
  const row: ScaleRow = {
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
  log(line: string): void;
}): Promise<ScaleRow[]> {
  const { url, child } = await startRedis();
  const rows: ScaleRow[] = [];
  try {
    for (const n of o.streams) {
      const r = await oneRun(url, child.pid!, n, o.perStreamHz, o.seconds);
      rows.push(r);
      o.log(
        `scale ${n} streams × ${o.perStreamHz}/s: hop p50 ${r.hopP50Ms.toFixed(2)} p99 ${r.hopP99Ms.toFixed(2)} ms, ${r.delivered}/${r.messages} delivered, ${r.messagesPerSec.toFixed(0)} msg/s, redis CPU ${(100 * r.redisCpu).toFixed(0)}%, bench process ${(100 * r.nodeCpu).toFixed(0)}%`,
      );
    }
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
