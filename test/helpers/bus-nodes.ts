// Real `emostream serve --bus` processes on loopback for the bus tests, and a publisher that
// streams synthetic speech (bursts of a tone with pauses, so the VAD makes turns) in real time.
import { suite } from 'uvu';
import { startServerProc, type ServerProc } from '../../src/bench/server-proc.js';
import { haveRedis, startRedis, type RedisProc } from './redis.js';
import type { Conn } from './server-ws.js';
import { toS16 } from './server-ws.js';

export const PUBLISH_TOKEN = 'bus-test-publish';
export const SUBSCRIBE_TOKEN = 'bus-test-subscribe';
export const AUTH = { authorization: `Bearer ${PUBLISH_TOKEN}` };

export async function startNode(busUrl: string, node: string, extra: string[] = []): Promise<ServerProc> {
  return startServerProc({
    model: 'models/basic-4',
    engine: 'onnx',
    threads: 1,
    args: ['--bus', busUrl, '--node-id', node, '--publish-token', PUBLISH_TOKEN, '--subscribe-token', SUBSCRIBE_TOKEN, ...extra],
    // Several nodes start at once on a machine that may be busy: a slow start is not what these tests test.
    startTimeoutMs: 180_000,
  });
}

/** Starts the nodes together; if any fails, stops the others and throws its error (nothing left running). */
export async function startNodes(busUrl: string, names: string[], extra: string[] = []): Promise<ServerProc[]> {
  const started = await Promise.allSettled(names.map((n) => startNode(busUrl, n, extra)));
  const failed = started.find((r) => r.status === 'rejected');
  const nodes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  if (failed) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw failed.reason;
  }
  return nodes;
}

export interface NodesContext {
  redis?: RedisProc;
  nodes: ServerProc[];
}

/**
 * A suite over three `serve --bus` nodes A, B, C (with `extra` flags) on a fresh redis-server,
 * stopped afterwards. `T` registers a test: skipped without redis-server outside CI, and failing
 * with the start error if the nodes did not start (uvu does not report an error thrown by a
 * `before` hook: the suite just passes 0 tests; startNodes stops what did start).
 */
export function threeNodeSuite(name: string, extra: string[]) {
  const S = suite<NodesContext>(name, { nodes: [] });
  let startFailed: unknown;
  S.before(async (ctx) => {
    if (!haveRedis()) return;
    ctx.redis = await startRedis();
    ctx.nodes = await startNodes(ctx.redis.url, ['A', 'B', 'C'], extra).catch((err) => ((startFailed = err), []));
  });
  S.after(async (ctx) => {
    await Promise.all(ctx.nodes.map((n) => n.stop()));
    await ctx.redis?.kill();
  });
  const T = (testName: string, fn: (ctx: NodesContext) => Promise<void>) =>
    haveRedis() || process.env.CI === 'true'
      ? S(testName, async (ctx) => {
          if (startFailed) throw startFailed;
          await fn(ctx);
        })
      : S.skip(testName, fn);
  return { S, T };
}

/** 16 kHz s16le: 0.6 s of a tone, 0.4 s near silence, repeated; `offset` shifts the pattern (different sessions differ). */
export function speechLike(seconds: number, offset = 0): Uint8Array {
  const x = new Float32Array(Math.round(16000 * seconds));
  for (let i = 0; i < x.length; i++) {
    const t = (i + offset * 1600) / 16000;
    const on = t % 1 < 0.6;
    x[i] = (on ? 0.3 : 0.003) * Math.sin(2 * Math.PI * (180 + 40 * Math.sin(t * 3)) * t);
  }
  return toS16(x);
}

/** Sends `bytes` in `chunkMs` pieces at real-time pace; resolves when all are sent or stop() was called. */
export function streamRealTime(c: Conn, bytes: Uint8Array, chunkMs = 100): { done: Promise<void>; stop(): void } {
  const size = 32 * chunkMs; // 16 kHz × 2 bytes
  let stopped = false;
  const done = (async () => {
    const t0 = performance.now();
    for (let i = 0, k = 0; i < bytes.length && !stopped; i += size, k++) {
      if (c.ws.readyState !== c.ws.OPEN) return;
      c.send({ type: 'audio', data: bytes.subarray(i, i + size) });
      const wait = t0 + (k + 1) * chunkMs - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  return { done, stop: () => (stopped = true) };
}

export async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { headers });
  return { status: res.status, body: await res.json() };
}

/** Polls `check` every 100 ms until it returns true; false after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** The `start` every bus test publishes: 16 kHz s16le mono, hop 250 ms, a first window at 1 s. */
export const START = (session: string) => ({
  type: 'start' as const,
  session,
  audio: { encoding: 's16le' as const, sampleRate: 16000, channels: 1 },
  hopMs: 250,
  minWindowMs: 1000,
});

/** A node's /metrics as `name` or `name{labels}` → value (Prometheus text format). */
export async function scrape(baseUrl: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${baseUrl}metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return out;
}
