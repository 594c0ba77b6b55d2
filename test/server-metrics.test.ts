// /metrics through prom-client: every metric docs/server.md lists, with its meaning (counts match
// what the session did), beside prom-client's default process metrics; separate servers keep
// separate counts.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { BusStats } from '../src/bus/types.js';
import type { EngineStats } from '../src/inference/engine.js';
import { ServerMetrics } from '../src/server/metrics.js';
import { EmostreamServer } from '../src/server/server.js';
import { TestEngine } from './helpers/server-engine.js';
import { connect, sendChunks, toF32 } from './helpers/server-ws.js';

const START = { type: 'start' as const, audio: { sampleRate: 16000, encoding: 'f32le' as const, channels: 1 }, hopMs: 500 };
const DOCS = readFileSync(new URL('../docs/server.md', import.meta.url), 'utf8');

function get(url: string): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }));
      })
      .on('error', reject);
  });
}

/** The value of one sample line, e.g. `emostream_windows_total` or `emostream_errors_total{code="x"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function serve() {
  const server = new EmostreamServer({ engine: new TestEngine(), port: 0 });
  const { port } = await server.listen();
  return { server, base: `ws://127.0.0.1:${port}`, http: `http://127.0.0.1:${port}` };
}

const M = suite('server metrics');

M('every documented metric and the default process metrics, each declared once', async () => {
  const { server, http: h } = await serve();
  const res = await get(`${h}/metrics`);
  assert.is(res.status, 200);
  assert.match(res.type, 'text/plain; version=0.0.4');
  const declared = [...res.body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1]);
  assert.is(new Set(declared).size, declared.length, 'no metric declared twice');
  const section = DOCS.slice(DOCS.indexOf('## Metrics'));
  const documented = [...new Set([...section.slice(0, section.indexOf('\n## ', 3)).matchAll(/`(emostream_[a-z_]+)/g)].map((m) => m[1]))];
  assert.ok(documented.length >= 15, `docs list ${documented.length} metrics`);
  for (const name of documented) assert.ok(declared.includes(name), `${name} is exported`);
  for (const name of [
    'process_resident_memory_bytes',
    'process_cpu_seconds_total',
    'nodejs_eventloop_lag_seconds',
    'nodejs_eventloop_lag_p99_seconds',
    'nodejs_gc_duration_seconds',
    'nodejs_heap_size_used_bytes',
    'process_open_fds',
  ])
    assert.ok(declared.includes(name), `${name} is exported`);
  assert.ok(sample(res.body, 'process_resident_memory_bytes')! > 10e6, 'RSS is measured');
  await server.close();
});

M('counts follow what happened: one session, its windows, one coded error; a second server starts at zero', async () => {
  const { server, base, http: h } = await serve();
  const pub = await connect(`${base}/v1/stream`);
  pub.send({ ...START, session: 'm1' });
  await pub.next('ready');
  const sub = await connect(`${base}/v1/subscribe/m1`);
  await sub.next('ready');
  pub.ws.send('not json');
  assert.is((await pub.next('error')).code, 'malformed_json');
  const x = new Float32Array(16000 * 4).map((_, i) => 0.3 * Math.sin(i / 10));
  sendChunks(pub, toF32(x), 16000);
  pub.send({ type: 'stop' });
  const end = await pub.next('end');
  assert.ok(end.windows > 0);
  const text = (await get(`${h}/metrics`)).body;
  assert.is(sample(text, 'emostream_sessions_started_total'), 1);
  assert.is(sample(text, 'emostream_windows_total'), end.windows);
  assert.is(sample(text, 'emostream_latency_seconds_count'), end.windows);
  assert.is(sample(text, 'emostream_batch_size_sum'), end.windows, 'every window was in one batch');
  assert.is(sample(text, 'emostream_connections_total{endpoint="stream"}'), 1);
  assert.is(sample(text, 'emostream_connections_total{endpoint="subscribe"}'), 1);
  assert.is(sample(text, 'emostream_errors_total{code="malformed_json"}'), 1);
  assert.is(sample(text, 'emostream_inference_seconds_bucket{le="+Inf"}'), sample(text, 'emostream_inference_seconds_count'));
  assert.is(await server.metrics.value(server.metrics.errors, { code: 'malformed_json' }), 1);
  assert.is(await server.metrics.value(server.metrics.connections), 2);

  const other = await serve();
  const fresh = (await get(`${other.http}/metrics`)).body;
  assert.is(sample(fresh, 'emostream_windows_total'), 0);
  assert.is(sample(fresh, 'emostream_sessions_started_total'), 0);
  pub.ws.close();
  sub.ws.close();
  await Promise.all([server.close(), other.server.close()]);
});

M('with a bus and a remote engine: every documented bus metric, reading their counters at each scrape', async () => {
  const bus: BusStats = {
    connected: true,
    published: 40,
    received: 17,
    reconnects: 2,
    lost: 3,
    inflight: 5,
    following: 4,
    seats: 4,
    gapsReported: 6,
  };
  const remote: EngineStats = { remoteWindows: 30, localWindows: 7, overloadedWindows: 0, timedOutBatches: 2, late: 1 };
  const metrics = new ServerMetrics(
    { model: 'm', backend: 'b', provider: 'cpu' },
    { sessions: () => 0, subscribers: () => 0, queueDepth: () => 0, maxPending: () => 0 },
    { bus: () => bus, engine: () => remote },
  );
  let text = await metrics.render();
  const section = DOCS.slice(DOCS.indexOf('## Metrics with a bus'));
  const documented = [...new Set([...section.slice(0, section.indexOf('\n## ', 3)).matchAll(/`(emostream_[a-z_]+)/g)].map((m) => m[1]))];
  assert.ok(documented.length >= 11, `docs list ${documented.length} bus metrics`);
  const declared = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1]);
  for (const name of documented) assert.ok(declared.includes(name), `${name} is exported`);
  assert.is(sample(text, 'emostream_bus_connected'), 1);
  assert.is(sample(text, 'emostream_bus_messages_published_total'), 40);
  assert.is(sample(text, 'emostream_bus_messages_received_total'), 17);
  assert.is(sample(text, 'emostream_bus_messages_lost_total'), 3);
  assert.is(sample(text, 'emostream_bus_messages_gap_reported_total'), 6);
  assert.is(sample(text, 'emostream_bus_reconnects_total'), 2);
  assert.is(sample(text, 'emostream_bus_inflight'), 5);
  assert.is(sample(text, 'emostream_bus_following'), 4);
  assert.is(sample(text, 'emostream_remote_windows_total{computed="remote"}'), 30);
  assert.is(sample(text, 'emostream_remote_windows_total{computed="local"}'), 7);
  assert.is(sample(text, 'emostream_remote_windows_total{computed="skipped"}'), 0);
  assert.is(sample(text, 'emostream_remote_timeouts_total'), 2);
  assert.is(sample(text, 'emostream_remote_late_answers_total'), 1);
  // Counters kept by the bus are read anew at each scrape, not added up.
  bus.lost = 9;
  bus.connected = false;
  remote.localWindows = 8;
  text = await metrics.render();
  assert.is(sample(text, 'emostream_bus_messages_lost_total'), 9);
  assert.is(sample(text, 'emostream_bus_connected'), 0);
  assert.is(sample(text, 'emostream_remote_windows_total{computed="local"}'), 8);
  // A server without a bus exports none of them.
  const plain = await serve();
  const body = (await get(`${plain.http}/metrics`)).body;
  assert.not.match(body, 'emostream_bus_');
  assert.not.match(body, 'emostream_remote_');
  await plain.server.close();
});

M.run();
