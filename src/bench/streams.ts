// N concurrent real-time streams against a running server: each publishes real speech in
// 20 ms chunks at the pace of a live source, starting at evenly spread phases of the hop (as
// independent callers would), and receives its posteriors. For every window it measures, on
// this machine's clock, the time from sending the chunk that carried the window's last audio
// sample to receiving its posterior, next to the server's own latencyMs.
import WebSocket from 'ws';
import { FRAME_HOP, FRAME_LENGTH, SAMPLE_RATE } from '../dsp/types.js';
import { frameCount } from '../dsp/features.js';
import { windowCount } from '../dsp/windows.js';

export interface StreamLoadOptions {
  wsUrl: string;
  /** Several nodes of one cluster (ws://host:port/ each): stream i publishes on nodes[i % n]
   *  (wsUrl is then unused). */
  nodes?: string[];
  /** Each stream also gets a subscriber, on the next node after its publisher's (the same node
   *  when there is one), joined before any audio is sent; its latency and losses count too. */
  subscribers?: boolean;
  /** Publish token, for a server that requires one. */
  token?: string;
  streams: number;
  hopMs: number;
  /** Audio seconds each stream sends. */
  seconds: number;
  chunkMs?: number;
  /** s16le 16 kHz mono speech; each stream starts at its own offset and wraps around. */
  audio: Buffer;
  /** Called every ~0.5 s while streams run (e.g. to sample the server's memory). */
  onTick?: () => void;
}

export interface Percentiles {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface StreamLoadResult {
  streams: number;
  hopMs: number;
  seconds: number;
  chunkMs: number;
  windowsExpected: number;
  windowsReceived: number;
  skipped: number;
  errors: Record<string, number>;
  /** End-to-end latency (receive − send of the window's last chunk), ms, on this machine's clock:
   *  the publisher's, or with subscribers whichever of publisher and subscriber has the higher p99. */
  latency: Percentiles;
  /** The publishers' own latency, ms (the same as latency without subscribers). */
  publisherLatency: Percentiles;
  /** Subscriber connections' latency (receive − send of the window's last chunk to the publisher), ms; n = 0 without subscribers. */
  subscriberLatency: Percentiles;
  /** Posteriors the subscribers received, of windowsExpected (0 without subscribers). */
  subscriberWindows: number;
  /** Streams published on each node (one entry per node). */
  perNode: number[];
  /** The server's latencyMs (last sample's arrival → posterior sent), ms. */
  serverLatency: Percentiles;
  computeMs: Percentiles;
  batchSize: Percentiles;
  /** How late the load generator sent its chunks at worst, ms (large = the client itself lagged). */
  clientLagMs: number;
  /** Streams whose `end` arrived, of `streams`. */
  ended: number;
  keptUp: boolean;
  /** Why not, when keptUp is false. */
  reason?: string;
}

export function percentiles(xs: number[]): Percentiles {
  if (xs.length === 0) return { n: 0, p50: NaN, p95: NaN, p99: NaN, max: NaN, mean: NaN };
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
  return { n: s.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: s[s.length - 1], mean: s.reduce((a, b) => a + b, 0) / s.length };
}

interface Stream {
  ws: WebSocket;
  sub?: WebSocket;
  subEnded: boolean;
  subReceived: number;
  offset: number;
  startAt: number;
  next: number;
  sendTimes: Float64Array;
  ready: boolean;
  ended: boolean;
  received: number;
}

/** Audio after a window's last sample that its features need (Δ then ΔΔ, 2 frames each). */
const LOOKAHEAD_SAMPLES = 4 * FRAME_HOP;

/** Longest the load generator may fall behind its real-time schedule before a trial is void. */
export const CLIENT_LAG_LIMIT_MS = 500;

/** p99 latency limit a stream count must meet to count as carried. */
export const P99_LIMIT_MS = 250;

export async function runStreams(o: StreamLoadOptions): Promise<StreamLoadResult> {
  const chunkMs = o.chunkMs ?? 20;
  const chunkSamples = (SAMPLE_RATE * chunkMs) / 1000;
  const chunkBytes = chunkSamples * 2;
  const chunks = Math.round((o.seconds * 1000) / chunkMs);
  const totalSamples = chunks * chunkSamples;
  const hopFrames = Math.round(o.hopMs / 10);
  const perStream = windowCount(frameCount(totalSamples), { hopFrames });
  const audioChunks = Math.floor(o.audio.length / chunkBytes);
  const latency: number[] = [],
    serverLatency: number[] = [],
    computeMs: number[] = [],
    batch: number[] = [];
  const subLatency: number[] = [];
  const errors: Record<string, number> = {};
  let skipped = 0,
    clientLag = 0;
  const nodes = o.nodes?.length ? o.nodes : [o.wsUrl];
  const perNode = nodes.map(() => 0);
  const headers: Record<string, string> = o.token ? { authorization: `Bearer ${o.token}` } : {};
  /** The send time of the chunk that completed a posterior's window; undefined for windows only the final flush completed. */
  const completedAt = (st: Stream, m: { endMs: number }): number | undefined => {
    const endFrame = Math.round(m.endMs / 10);
    const last = (endFrame - 1) * FRAME_HOP + FRAME_LENGTH - 1;
    // A window is complete once the front end's 4-frame Δ/ΔΔ lookahead has arrived; those
    // completed only by the final flush have no chunk that triggered them.
    return last + LOOKAHEAD_SAMPLES < totalSamples ? st.sendTimes[Math.floor(last / chunkSamples)] : undefined;
  };

  /** A subscriber of the stream's session on another node, resolved once it has its `ready`. */
  const subscribe = (st: Stream, url: string, session: string) =>
    new Promise<void>((resolve, reject) => {
      const sub = new WebSocket(`${url}v1/subscribe/${encodeURIComponent(session)}`, 'emostream.v1.json', {
        perMessageDeflate: false,
        headers,
      });
      st.sub = sub;
      sub.on('message', (data, isBinary) => {
        const now = performance.now();
        if (isBinary) return;
        const m = JSON.parse(String(data));
        if (m.type === 'ready') resolve();
        else if (m.type === 'posterior') {
          st.subReceived++;
          const sent = completedAt(st, m);
          if (sent !== undefined) subLatency.push(now - sent);
        } else if (m.type === 'error') {
          errors[`subscriber ${m.code}`] = (errors[`subscriber ${m.code}`] ?? 0) + 1;
          if (m.fatal) resolve(); // counted; the stream's result says what was missing
        } else if (m.type === 'end') st.subEnded = true;
      });
      sub.once('error', reject);
    });

  const open = (i: number) =>
    new Promise<Stream>((resolve, reject) => {
      const node = i % nodes.length;
      perNode[node]++;
      const ws = new WebSocket(`${nodes[node]}v1/stream`, 'emostream.v1.json', { perMessageDeflate: false, headers });
      const st: Stream = {
        ws,
        subEnded: false,
        subReceived: 0,
        offset: Math.floor((i * 7919) % audioChunks),
        startAt: 0,
        next: 0,
        sendTimes: new Float64Array(chunks),
        ready: false,
        ended: false,
        received: 0,
      };
      ws.on('message', (data, isBinary) => {
        const now = performance.now();
        if (isBinary) return;
        const m = JSON.parse(String(data));
        switch (m.type) {
          case 'ready':
            st.ready = true;
            if (o.subscribers) subscribe(st, nodes[(node + 1) % nodes.length], m.session).then(() => resolve(st), reject);
            else resolve(st);
            break;
          case 'posterior': {
            st.received++;
            const sent = completedAt(st, m);
            if (sent !== undefined) latency.push(now - sent);
            if (process.env.EMOSTREAM_BENCH_TRACE)
              console.error(
                `trace stream ${streams.indexOf(st)} seq ${m.seq} end ${m.endMs} lat ${sent === undefined ? '–' : (now - sent).toFixed(1)} server ${m.latencyMs.toFixed(1)} compute ${m.computeMs.toFixed(1)} batch ${m.batchSize} t ${(now - t0).toFixed(0)}`,
              );
            serverLatency.push(m.latencyMs);
            computeMs.push(m.computeMs);
            batch.push(m.batchSize);
            break;
          }
          case 'error':
            errors[m.code] = (errors[m.code] ?? 0) + 1;
            if (m.skipped) skipped += m.skipped;
            break;
          case 'end':
            st.ended = true;
            skipped += m.skipped ?? 0;
            break;
        }
      });
      ws.once('error', reject);
      ws.once('open', () =>
        ws.send(
          JSON.stringify({
            type: 'start',
            audio: { sampleRate: SAMPLE_RATE, encoding: 's16le', channels: 1 },
            hopMs: o.hopMs,
            posteriors: true,
          }),
        ),
      );
    });

  const streams: Stream[] = [];
  let t0 = 0;
  for (let i = 0; i < o.streams; i++) streams.push(await open(i));

  // Evenly spread phases over one hop, 200 ms from now.
  t0 = performance.now() + 200;
  streams.forEach((s, i) => {
    s.startAt = t0 + (i / o.streams) * o.hopMs;
  });
  let lastTick = performance.now();
  await new Promise<void>((done) => {
    const pump = () => {
      const now = performance.now();
      let remaining = 0;
      for (const s of streams) {
        while (s.next < chunks && s.startAt + (s.next + 1) * chunkMs <= now) {
          // Chunk k is "captured" by startAt + (k + 1)·chunkMs; it goes out as soon as it exists.
          const due = s.startAt + (s.next + 1) * chunkMs;
          clientLag = Math.max(clientLag, now - due);
          const c = (s.offset + s.next) % audioChunks;
          s.ws.send(o.audio.subarray(c * chunkBytes, (c + 1) * chunkBytes), { binary: true });
          s.sendTimes[s.next] = performance.now();
          s.next++;
          if (s.next === chunks) s.ws.send(JSON.stringify({ type: 'stop' }));
        }
        if (s.next < chunks) remaining++;
      }
      if (now - lastTick > 500) {
        lastTick = now;
        o.onTick?.();
      }
      if (remaining === 0) return done();
      setTimeout(pump, 2);
    };
    pump();
  });
  // Allow the flushes and the last batches to finish.
  const deadline = performance.now() + 5000 + o.streams * 50;
  const allEnded = () => streams.every((s) => s.ended && (!s.sub || s.subEnded));
  while (!allEnded() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  for (const s of streams) {
    s.ws.terminate();
    s.sub?.terminate();
  }

  const windowsExpected = perStream * o.streams;
  const windowsReceived = streams.reduce((n, s) => n + s.received, 0);
  const subscriberWindows = streams.reduce((n, s) => n + s.subReceived, 0);
  const ended = streams.filter((s) => s.ended).length;
  const pubLat = percentiles(latency);
  const subLat = percentiles(subLatency);
  // End to end is the slower of the two paths: a subscriber on another node adds the bus hop.
  const lat = o.subscribers && subLat.p99 > pubLat.p99 ? subLat : pubLat;
  let reason: string | undefined;
  // Latency is measured from each chunk's actual send, so a brief stall of the generator does not
  // flatter the server; a long one means the offered load was not real time.
  if (clientLag > CLIENT_LAG_LIMIT_MS) reason = `the load generator itself fell ${clientLag.toFixed(0)} ms behind`;
  else if (skipped > 0 || errors.overloaded) reason = `server skipped ${skipped} windows (overloaded)`;
  else if (windowsReceived < windowsExpected) reason = `${windowsExpected - windowsReceived} of ${windowsExpected} posteriors missing`;
  else if (ended < o.streams) reason = `${o.streams - ended} streams did not end`;
  else if (o.subscribers && subscriberWindows < windowsExpected)
    reason = `subscribers missed ${windowsExpected - subscriberWindows} of ${windowsExpected} posteriors`;
  else if (o.subscribers && streams.some((s) => !s.subEnded))
    reason = `${streams.filter((s) => !s.subEnded).length} subscribers got no end`;
  else if (!(lat.p99 < P99_LIMIT_MS)) reason = `p99 latency ${lat.p99.toFixed(0)} ms ≥ ${P99_LIMIT_MS} ms`;
  return {
    streams: o.streams,
    hopMs: o.hopMs,
    seconds: o.seconds,
    chunkMs,
    windowsExpected,
    windowsReceived,
    skipped,
    errors,
    latency: lat,
    publisherLatency: pubLat,
    subscriberLatency: subLat,
    subscriberWindows,
    perNode,
    serverLatency: percentiles(serverLatency),
    computeMs: percentiles(computeMs),
    batchSize: percentiles(batch),
    clientLagMs: clientLag,
    ended,
    keptUp: reason === undefined,
    reason,
  };
}
