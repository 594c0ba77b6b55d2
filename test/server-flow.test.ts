// Lifecycle and flow control against a real server with the deterministic TestEngine:
// vanished publishers, auth, backpressure, overload skipping, slow consumers, shutdown.
import http from 'node:http';
import WebSocket from 'ws';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { frameCount } from '../src/dsp/features.js';
import { planWindows } from '../src/dsp/windows.js';
import { DEFAULT_LIMITS, EmostreamServer, type ServerOptions } from '../src/server/server.js';
import { TestEngine } from './helpers/server-engine.js';
import { rng } from './fixtures/wavgen.js';
import { connect, sendChunks, toF32, toS16 } from './helpers/server-ws.js';
import { encodeOpus } from './helpers/opus.js';

function tone(seconds: number, rate = 16000): Float32Array {
  const x = new Float32Array(Math.round(seconds * rate));
  for (let i = 0; i < x.length; i++)
    x[i] = 0.3 * Math.sin((2 * Math.PI * 220 * i) / rate) * (1 + 0.5 * Math.sin((2 * Math.PI * 3 * i) / rate));
  return x;
}
const START = { type: 'start' as const, audio: { sampleRate: 16000, encoding: 'f32le' as const, channels: 1 } };

async function serve(opts: Partial<ServerOptions> & { engine?: TestEngine } = {}) {
  const engine = opts.engine ?? new TestEngine();
  const server = new EmostreamServer({ ...opts, engine, port: 0 });
  const { port } = await server.listen();
  return { server, engine, base: `ws://127.0.0.1:${port}`, http: `http://127.0.0.1:${port}` };
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }));
      })
      .on('error', reject);
  });
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once `c` has received `n` messages of `type`. */
async function waitCount(c: Awaited<ReturnType<typeof connect>>, type: 'posterior', n: number): Promise<void> {
  while (c.of(type).length < n) await c.next(type, c.messages.length, 60000);
}

const F = suite('server flow');

F('a publisher killed mid-stream leaves no session, queue, or timer behind', async () => {
  const { server, engine, base } = await serve({ engine: new TestEngine(20), batch: { maxBatch: 1 } });
  const pub = await connect(`${base}/v1/stream`);
  pub.send({ ...START, session: 'doomed', hopMs: 100 });
  await pub.next('ready');
  const sub = await connect(`${base}/v1/subscribe/doomed`);
  await sub.next('ready');
  sendChunks(pub, toF32(tone(6)), 8000); // ~30 windows at 20 ms each: most are still queued
  await sub.next('posterior');
  pub.ws.terminate();
  const gone = await sub.next('error');
  assert.is(gone.code, 'publisher_gone');
  await sub.next('end');
  assert.is((await sub.closed).code, 1000);
  assert.equal(server.sessionIds(), []);
  assert.is(server.batcher.depth, 0, 'its queued windows were dropped');
  const batches = engine.batches.length;
  await wait(100);
  assert.is(engine.batches.length, batches, 'no inference for it after it left');
  const metrics = await server.metrics.render();
  assert.match(metrics, /^emostream_sessions 0$/m);
  assert.match(metrics, /^emostream_subscribers 0$/m);
  await server.close();
});

F('heartbeat: a publisher that stops answering pings (dead network) loses its session', async () => {
  const { server, base } = await serve({ limits: { heartbeatMs: 50 } });
  try {
    const c = await connect(`${base}/v1/stream`);
    c.send({ ...START, session: 'silent-peer' });
    await c.next('ready');
    await wait(200);
    assert.equal(server.sessionIds(), ['silent-peer'], 'a live peer answers pings and stays');
    (c.ws as unknown as { _socket: { pause(): void } })._socket.pause(); // no more pongs
    const deadline = Date.now() + 5000;
    while (server.sessionIds().length > 0 && Date.now() < deadline) await wait(25);
    assert.equal(server.sessionIds(), []);
  } finally {
    await server.close();
  }
});

F('auth off: no token needed; auth on: scopes, Bearer header and ?token=', async () => {
  const open = await serve();
  const c = await connect(`${open.base}/v1/stream`);
  c.send(START);
  await c.next('ready');
  await open.server.close();

  const { server, base } = await serve({
    auth: { publishTokens: ['pub-secret'], subscribeTokens: ['sub-secret'], origins: ['https://ok.example'] },
  });
  // Refused at the handshake (test/server-access.test.ts has the statuses): the body says why.
  const refused = async (url: string, headers: Record<string, string> = {}) => {
    const err = (await connect(url, 'json', headers).then(
      () => new Error('connected'),
      (e: Error) => e,
    )) as Error;
    const status = /Unexpected server response: (\d+)/.exec(err.message)?.[1];
    assert.ok(status === '401' || status === '403', err.message);
    return (await new Promise<string>((resolve) => {
      const ws = new WebSocket(url, ['emostream.v1.json'], { headers });
      ws.on('error', () => {});
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => (ws.terminate(), resolve(body.split(':')[0])));
      });
    })) as string;
  };
  assert.is(await refused(`${base}/v1/stream`), 'unauthorized');
  assert.is(await refused(`${base}/v1/stream?token=nope`), 'bad_token');
  assert.is(await refused(`${base}/v1/stream`, { authorization: 'Bearer sub-secret' }), 'forbidden');
  assert.is(await refused(`${base}/v1/stream?token=pub-secret`, { origin: 'https://evil.example' }), 'origin_not_allowed');
  const pub = await connect(`${base}/v1/stream`, 'json', { authorization: 'Bearer pub-secret', origin: 'https://ok.example' });
  pub.send({ ...START, session: 'private' });
  await pub.next('ready');
  assert.is(await refused(`${base}/v1/subscribe/private`), 'unauthorized');
  const sub = await connect(`${base}/v1/subscribe/private?token=sub-secret`);
  await sub.next('ready');
  const sub2 = await connect(`${base}/v1/subscribe/private?token=pub-secret`);
  await sub2.next('ready');
  await server.close();
});

F('backpressure: a faster-than-real-time publisher is paused, nothing is lost', async () => {
  const { server, base } = await serve({ engine: new TestEngine(15), batch: { maxBatch: 2 }, limits: { maxPendingWindows: 4 } });
  const c = await connect(`${base}/v1/stream`);
  c.send({ ...START, hopMs: 100 });
  await c.next('ready');
  const x = tone(20);
  sendChunks(c, toF32(x), 3200); // 100 ms per frame, all at once
  c.send({ type: 'stop' });
  const end = await c.next('end', 0, 30000);
  const expected = planWindows(frameCount(x.length), { hopFrames: 10 }).length;
  assert.is(end.windows, expected, 'every window computed');
  assert.is(c.of('posterior').length, expected);
  assert.equal(
    c.of('posterior').map((p) => p.seq),
    [...Array(expected).keys()],
  );
  const m = await server.metrics.render();
  const pauses = Number(/^emostream_publisher_pauses_total (\d+)/m.exec(m)?.[1]);
  const maxPending = Number(/^emostream_session_pending_max (\d+)/m.exec(m)?.[1]);
  assert.ok(pauses > 0, 'the socket was paused');
  // A cap below what one slice of audio may bring (two windows and a turn's 6): one slice at a time.
  assert.ok(maxPending <= 8, `pending windows stayed bounded (${maxPending} of ${expected})`);
  await server.close();
});

F('backpressure: big audio messages never put more than the cap of windows in flight', async () => {
  // One 1 s message places 10 windows at hop 100 ms: a socket pause alone lets whatever was read
  // already through (issue #14, 7: 52–56 pending against 32).
  const { server, base } = await serve({ engine: new TestEngine(5), batch: { maxBatch: 4 } });
  try {
    const c = await connect(`${base}/v1/stream`);
    c.send({ ...START, hopMs: 100 });
    await c.next('ready');
    const x = tone(40);
    sendChunks(c, toF32(x), 64000 * 4); // 4 s per message, all at once
    c.send({ type: 'stop' });
    const end = await c.next('end', 0, 60000);
    const expected = planWindows(frameCount(x.length), { hopFrames: 10 }).length;
    assert.is(end.windows, expected, 'every window computed');
    const m = await server.metrics.render();
    const maxPending = Number(/^emostream_session_pending_max (\d+)/m.exec(m)?.[1]);
    assert.ok(Number(/^emostream_publisher_pauses_total (\d+)/m.exec(m)?.[1]) > 0, 'the socket was paused');
    assert.ok(maxPending <= DEFAULT_LIMITS.maxPendingWindows, `at most ${DEFAULT_LIMITS.maxPendingWindows} pending (${maxPending})`);
    assert.ok(maxPending >= DEFAULT_LIMITS.maxPendingWindows / 2, `the cap is used (${maxPending})`);
  } finally {
    await server.close();
  }
});

F('latencyMs of the windows a stop completes does not count the wait before the stop', async () => {
  const { server, base } = await serve();
  try {
    const c = await connect(`${base}/v1/stream`);
    c.send({ ...START, hopMs: 500 });
    await c.next('ready');
    sendChunks(c, toF32(tone(2.2)), 8000); // shorter than a window: only the stop completes one
    const sent = performance.now();
    await wait(1000);
    const waited = performance.now() - sent;
    c.send({ type: 'stop' });
    await c.next('end');
    const [p] = c.of('posterior');
    assert.ok(p.latencyMs < waited, `latency ${p.latencyMs} ms counts from the stop, not from the audio ${waited} ms before it`);
  } finally {
    await server.close();
  }
});

F('overload: stale windows are skipped and reported, never silently', async () => {
  const { server, base } = await serve({
    engine: new TestEngine(40),
    batch: { maxBatch: 1, staleMs: 60 },
    limits: { maxPendingWindows: 1000 },
  });
  const c = await connect(`${base}/v1/stream`);
  c.send({ ...START, hopMs: 100 });
  await c.next('ready');
  const x = tone(5);
  sendChunks(c, toF32(x), 16000);
  c.send({ type: 'stop' });
  const end = await c.next('end', 0, 30000);
  const expected = planWindows(frameCount(x.length), { hopFrames: 10 }).length;
  const reported = c
    .of('error')
    .filter((e) => e.code === 'overloaded')
    .reduce((n, e) => n + (e.skipped ?? 0), 0);
  assert.ok(end.skipped > 0, 'windows were skipped');
  assert.is(reported, end.skipped, 'every skipped window was reported');
  assert.is(end.windows + end.skipped, expected, 'computed + skipped = all windows');
  assert.is(c.of('posterior').length, end.windows);
  const seqs = c.of('posterior').map((p) => p.seq);
  assert.equal(
    seqs,
    [...seqs].sort((a, b) => a - b),
    'still in order',
  );
  assert.is(seqs[seqs.length - 1], expected - 1, 'the newest window is never skipped');
  await server.close();
});

F('slow consumer: posteriors shed first, then posteriors_shed, slow_consumer and close 4008; others unaffected', async () => {
  // A reader that stops reading fills the kernel's buffers (megabytes) before anything waits in
  // ours; big posteriors (long labels, ~256 KB each) fill them in a few dozen windows. The soft
  // limit holds four of them, and every other connection reads each window before the next one
  // is sent, so only the stalled reader can ever go over it, however loaded the machine is.
  // Silence: no speech, so no turns or emotion events, only posteriors.
  const labels = ['angry', 'happy', 'sad', 'neutral'].map((l) => l + '_'.repeat(64 << 10));
  const posteriorBytes = 4 * (64 << 10);
  const { server, base } = await serve({
    engine: new TestEngine(0, labels),
    limits: { sendSoftLimit: 4 * posteriorBytes, sendHardLimit: 1 << 30, slowConsumerMs: 300 },
  });
  try {
    const pub = await connect(`${base}/v1/stream`);
    pub.send({ ...START, session: 'busy', hopMs: 100, minWindowMs: 100 });
    await pub.next('ready');
    const slow = await connect(`${base}/v1/subscribe/busy`);
    const fine = await connect(`${base}/v1/subscribe/busy`);
    await Promise.all([slow.next('ready'), fine.next('ready')]);
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause(); // stops reading
    const hop = toF32(new Float32Array(1600)); // 100 ms of silence
    pub.send({ type: 'audio', data: hop }); // the look-ahead (40 ms): from now on each hop completes one window
    let windows = 0;
    while ((await server.metrics.value(server.metrics.slowConsumers)) === 0) {
      assert.ok(windows < 2000, 'the stalled reader was never found slow');
      pub.send({ type: 'audio', data: hop });
      windows++;
      // Lock step: both readers have this window before the next audio goes out.
      await Promise.all([waitCount(pub, 'posterior', windows), waitCount(fine, 'posterior', windows)]);
    }
    assert.ok((await server.metrics.value(server.metrics.shed)) > 0, 'posteriors were shed before the close');
    pub.send({ type: 'stop' });
    const end = await pub.next('end', 0, 60000);
    await fine.closed;
    assert.equal(fine.of('error'), [], 'the reader that keeps up lost nothing');
    assert.is(fine.of('posterior').length, end.windows, 'the other subscriber got every posterior');
    assert.is(pub.of('posterior').length, end.windows, 'so did the publisher');
    await wait(1500); // longer than the old 1 s cut-off, which lost everything queued (close 1006)
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume(); // reads again
    const closed = await slow.closed;
    assert.is(closed.code, 4008, 'closed with the documented slow_consumer code');
    const errors = slow.of('error');
    assert.equal(
      errors.map((e) => e.code),
      ['posteriors_shed', 'slow_consumer'],
    );
    assert.is(errors[0].skipped, await server.metrics.value(server.metrics.shed), 'told how many posteriors it missed');
    assert.is(errors[1].fatal, true);
    assert.is(slow.of('posterior').length + (errors[0].skipped ?? 0), windows, 'sent + shed = the windows until the close');
  } finally {
    await server.close();
  }
});

F('graceful shutdown flushes sessions: final posteriors and end, then close', async () => {
  const { server, base, http: h } = await serve();
  const c = await connect(`${base}/v1/stream`);
  c.send({ ...START, hopMs: 500 });
  await c.next('ready');
  const x = tone(2.2); // shorter than a window: only the flush produces one
  sendChunks(c, toF32(x), 8000);
  await wait(50);
  assert.is(c.of('posterior').length, 0);
  await server.close();
  const end = await c.next('end');
  assert.is(end.windows, planWindows(frameCount(x.length), { hopFrames: 50 }).length);
  assert.is(c.of('posterior').length, 1);
  assert.ok([1000, 1001].includes((await c.closed).code));
  const after = await get(`${h}/healthz`).catch((e: Error) => e);
  assert.ok(after instanceof Error, 'no longer accepting');
});

F('HTTP: /healthz, /metrics, demo page, 404', async () => {
  const { server, http: h } = await serve();
  const health = await get(`${h}/healthz`);
  assert.is(health.status, 200);
  assert.equal(JSON.parse(health.body), { status: 'ok', model: 'test-4', backend: 'test', sessions: 0 });
  const metrics = await get(`${h}/metrics`);
  assert.match(metrics.type, 'text/plain');
  for (const name of [
    'emostream_sessions',
    'emostream_windows_total',
    'emostream_batch_size_bucket',
    'emostream_queue_depth',
    'emostream_inference_seconds_count',
    'emostream_latency_seconds_sum',
  ]) {
    assert.match(metrics.body, name);
  }
  const page = await get(`${h}/`);
  assert.is(page.status, 200);
  assert.match(page.type, 'text/html');
  assert.match(page.body, 'demo.js');
  assert.is((await get(`${h}/demo.js`)).status, 200);
  assert.is((await get(`${h}/worklet.js`)).status, 200);
  assert.is((await get(`${h}/nope`)).status, 404);
  assert.is((await get(`${h}/v1/stream`)).status, 426);
  await server.close();
});

F('s16le and f32le of the same audio give the same windows', async () => {
  const { server, base } = await serve();
  const x = tone(4);
  const run = async (encoding: 's16le' | 'f32le') => {
    const c = await connect(`${base}/v1/stream`);
    c.send({ type: 'start', audio: { sampleRate: 16000, encoding, channels: 1 }, hopMs: 250 });
    await c.next('ready');
    sendChunks(c, encoding === 's16le' ? toS16(x) : toF32(x), 1001);
    c.send({ type: 'stop' });
    await c.next('end');
    return c.of('posterior').map((p) => [p.startMs, p.endMs]);
  };
  assert.equal(await run('s16le'), await run('f32le'));
  await server.close();
});

F('G.711 μ-law and A-law at 8 kHz are accepted and analysed like linear PCM', async () => {
  const { server, base } = await serve();
  const x = tone(4, 8000);
  for (const encoding of ['mulaw', 'alaw'] as const) {
    // Nearest code by the decoding table: a faithful enough encoder for a test signal.
    const { G711_TABLES } = await import('../src/ingest/g711.js');
    const table = G711_TABLES[encoding];
    const bytes = Uint8Array.from(x, (v) => {
      let best = 0;
      for (let c = 1; c < 256; c++) if (Math.abs(table[c] - v) < Math.abs(table[best] - v)) best = c;
      return best;
    });
    const c = await connect(`${base}/v1/stream`);
    c.send({ type: 'start', audio: { sampleRate: 8000, encoding, channels: 1 }, hopMs: 500 });
    await c.next('ready');
    sendChunks(c, bytes, 999);
    c.send({ type: 'stop' });
    const end = await c.next('end');
    assert.equal(c.of('error'), [], encoding);
    assert.ok(end.windows >= 3, `${encoding}: ${end.windows} windows`);
    assert.ok(Math.abs(end.audioMs - 4000) < 1, `${encoding}: ${end.audioMs} ms`);
  }
  await server.close();
});

F('one utterance message per speech turn, in both encodings, in stream order', async () => {
  const { server, base } = await serve();
  // Quiet noise, then sound at 1–2.5 s and 4–5.5 s.
  const x = new Float32Array(7 * 16000);
  const r = rng(3);
  for (let i = 0; i < x.length; i++) {
    const t = i / 16000;
    x[i] = 1e-3 * (r() * 2 - 1) + ((t >= 1 && t < 2.5) || (t >= 4 && t < 5.5) ? 0.3 * Math.sin((2 * Math.PI * 220 * i) / 16000) : 0);
  }
  const run = async (encoding: 'json' | 'proto') => {
    const c = await connect(`${base}/v1/stream`, encoding);
    c.send({ ...START, hopMs: 500 });
    await c.next('ready');
    sendChunks(c, toF32(x), 3200);
    c.send({ type: 'stop' });
    await c.next('end');
    return c;
  };
  for (const encoding of ['json', 'proto'] as const) {
    const c = await run(encoding);
    const u = c.of('utterance');
    assert.is(u.length, 2, `${encoding}: two turns`);
    assert.ok(Math.abs(u[0].startMs - 1000) <= 30 && Math.abs(u[0].endMs - 2500) <= 30, `${u[0].startMs}–${u[0].endMs}`);
    assert.ok(Math.abs(u[1].startMs - 4000) <= 30 && Math.abs(u[1].endMs - 5500) <= 30, `${u[1].startMs}–${u[1].endMs}`);
    for (const m of u) {
      assert.equal(Object.keys(m.probs), ['angry', 'happy', 'sad', 'neutral']);
      const sum = Object.values(m.probs).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-4);
      assert.is(m.confidence, Math.max(...Object.values(m.probs)));
      assert.is(m.probs[m.label], m.confidence);
      assert.is(m.channel, 0);
      assert.is(m.windows, 1);
      assert.ok(m.latencyMs >= 0);
    }
    // Each turn's message comes after the speech-off that ended it (speech events are not held
    // back for inference, so they may run ahead of results).
    const offs = c.messages.flatMap((m, i) => (m.type === 'speech' && !m.active ? [i] : []));
    const utts = c.messages.flatMap((m, i) => (m.type === 'utterance' ? [i] : []));
    assert.is(offs.length, 2);
    utts.forEach((at, k) => assert.ok(at > offs[k], `utterance ${k} after its speech-off`));
    assert.ok(utts[1] < c.messages.length - 1 && c.messages[c.messages.length - 1].type === 'end');
  }
  await server.close();
});

F('channelMode separate: each channel is its own track, as if it were published alone', async () => {
  const { server, base } = await serve();
  // Left: a 220 Hz tone at 1–2.5 s. Right: a louder 880 Hz tone at 4–5.5 s. Quiet noise under both.
  const seconds = 7;
  const left = new Float32Array(seconds * 16000);
  const right = new Float32Array(seconds * 16000);
  const r = rng(5);
  for (let i = 0; i < left.length; i++) {
    const t = i / 16000;
    left[i] = 1e-3 * (r() * 2 - 1) + (t >= 1 && t < 2.5 ? 0.3 * Math.sin((2 * Math.PI * 220 * i) / 16000) : 0);
    right[i] = 1e-3 * (r() * 2 - 1) + (t >= 4 && t < 5.5 ? 0.6 * Math.sin((2 * Math.PI * 880 * i) / 16000) : 0);
  }
  const stereo = new Float32Array(left.length * 2);
  for (let i = 0; i < left.length; i++) {
    stereo[2 * i] = left[i];
    stereo[2 * i + 1] = right[i];
  }
  const run = async (x: Float32Array, channels: number, encoding: 'json' | 'proto', channelMode?: 'mix' | 'separate') => {
    const c = await connect(`${base}/v1/stream`, encoding);
    c.send({ type: 'start', audio: { sampleRate: 16000, encoding: 'f32le', channels }, hopMs: 500, channelMode });
    await c.next('ready');
    sendChunks(c, toF32(x), 3200 * channels);
    c.send({ type: 'stop' });
    await c.next('end');
    assert.equal(c.of('error'), []);
    return c;
  };
  const alone = [await run(left, 1, 'json'), await run(right, 1, 'json')];
  for (const encoding of ['json', 'proto'] as const) {
    const c = await run(stereo, 2, encoding, 'separate');
    for (const ch of [0, 1]) {
      const solo = alone[ch];
      const u = c.of('utterance').filter((m) => m.channel === ch);
      assert.is(u.length, 1, `${encoding}: one turn on channel ${ch}`);
      assert.equal(u[0].probs, solo.of('utterance')[0].probs, `channel ${ch}'s turn is scored from its own audio`);
      assert.is(u[0].startMs, solo.of('utterance')[0].startMs);
      assert.is(u[0].endMs, solo.of('utterance')[0].endMs);
      const posts = c.of('posterior').filter((m) => m.channel === ch);
      assert.equal(
        posts.map((m) => [m.seq, m.startMs, m.speech, m.probs]),
        solo.of('posterior').map((m) => [m.seq, m.startMs, m.speech, m.probs]),
        `channel ${ch}'s windows`,
      );
      const speech = (k: typeof c) => k.of('speech').map((m) => [m.active, m.atMs]);
      assert.equal(speech({ ...c, of: ((t: 'speech') => c.of(t).filter((m) => m.channel === ch)) as typeof c.of }), speech(solo));
      const emotions = (k: typeof c, only?: number) =>
        k
          .of('emotion')
          .filter((m) => only === undefined || m.channel === only)
          .map((m) => [m.kind, m.label, m.atMs]);
      assert.equal(emotions(c, ch), emotions(solo), `channel ${ch}'s events`);
    }
    assert.ok(Math.abs(c.of('utterance')[0].startMs - 1000) <= 30, 'the left turn first');
    assert.ok(
      c.messages.every((m) => !('channel' in m) || m.channel === 0 || m.channel === 1),
      'every track message names its channel',
    );
  }
  // Mixed (the default), the same stereo audio is one track: both turns on channel 0.
  const mixed = await run(stereo, 2, 'json');
  assert.equal(
    mixed.of('utterance').map((m) => m.channel),
    [0, 0],
  );
  assert.ok(mixed.messages.filter((m) => 'channel' in m).every((m) => (m as { channel: number }).channel === 0));
  await server.close();
});

F('opus: one packet per message, sent even before ready; a bad packet is reported and skipped; turns as from PCM', async () => {
  const { server, base } = await serve();
  const x = new Float32Array(7 * 16000);
  const r = rng(7);
  for (let i = 0; i < x.length; i++) {
    const t = i / 16000;
    x[i] = 1e-3 * (r() * 2 - 1) + ((t >= 1 && t < 2.5) || (t >= 4 && t < 5.5) ? 0.3 * Math.sin((2 * Math.PI * 220 * i) / 16000) : 0);
  }
  const packets = encodeOpus([x]);
  const pcm = await connect(`${base}/v1/stream`);
  pcm.send({ ...START, hopMs: 500 });
  await pcm.next('ready');
  sendChunks(pcm, toF32(x), 3200);
  pcm.send({ type: 'stop' });
  await pcm.next('end');
  for (const encoding of ['json', 'proto'] as const) {
    const c = await connect(`${base}/v1/stream`, encoding);
    c.send({ type: 'start', audio: { sampleRate: 16000, encoding: 'opus', channels: 1 }, hopMs: 500 });
    packets.forEach((p, k) => {
      c.send({ type: 'audio', data: p });
      if (k === 100) c.send({ type: 'audio', data: new Uint8Array(0) });
    });
    c.send({ type: 'stop' });
    const end = await c.next('end');
    assert.is(c.messages[0].type, 'ready');
    const errors = c.of('error');
    assert.equal(
      errors.map((e) => [e.code, e.fatal]),
      [['opus_bad_packet', false]],
      encoding,
    );
    assert.is(end.audioMs, 7000, 'every good packet was decoded: 350 × 20 ms');
    const turns = (k: typeof c) => k.of('utterance').map((u) => [u.startMs, u.endMs]);
    assert.is(turns(c).length, 2);
    turns(c).forEach(([a, b], i) => {
      const [pa, pb] = turns(pcm)[i];
      assert.ok(Math.abs(a - pa) <= 30 && Math.abs(b - pb) <= 30, `turn ${i}: ${a}–${b} vs ${pa}–${pb} from PCM`);
    });
  }
  const bad = await connect(`${base}/v1/stream`);
  bad.send({ type: 'start', audio: { sampleRate: 44100, encoding: 'opus', channels: 1 } });
  const e = await bad.next('error');
  assert.is(e.code, 'unsupported_format');
  assert.match(e.message, /Opus is decoded at 8000, 12000, 16000, 24000, 48000 Hz/);
  await server.close();
});

F('channelMode other than mix or separate is refused with invalid_start', async () => {
  const { server, base } = await serve();
  const c = await connect(`${base}/v1/stream`);
  c.send({ ...START, channelMode: 'both' as never });
  const e = await c.next('error');
  assert.is(e.code, 'invalid_start');
  assert.match(e.message, /channelMode must be "mix" or "separate"/);
  await server.close();
});

F.run();
