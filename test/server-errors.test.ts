// Every malformed input gets its coded error, the session survives what it can, and the server
// keeps serving everyone else. Uses the deterministic TestEngine (speed-independent).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import WebSocket from 'ws';
import { frameCount } from '../src/dsp/features.js';
import { planWindows } from '../src/dsp/windows.js';
import { EmostreamServer } from '../src/server/server.js';
import { TestEngine } from './helpers/server-engine.js';
import { connect, sendChunks, toF32, toS16, type Conn } from './helpers/server-ws.js';

const S = suite<{ server: EmostreamServer; base: string; engine: TestEngine }>('server errors');

S.before(async (ctx) => {
  ctx.engine = new TestEngine();
  ctx.server = new EmostreamServer({ engine: ctx.engine, port: 0, limits: { maxMessageBytes: 64 * 1024 } });
  const { port } = await ctx.server.listen();
  ctx.base = `ws://127.0.0.1:${port}`;
});
S.after(async ({ server }) => server.close());

function tone(seconds: number, rate = 16000): Float32Array {
  const x = new Float32Array(Math.round(seconds * rate));
  for (let i = 0; i < x.length; i++)
    x[i] = 0.3 * Math.sin((2 * Math.PI * 220 * i) / rate) * (1 + 0.5 * Math.sin((2 * Math.PI * 3 * i) / rate));
  return x;
}

const START = { type: 'start' as const, audio: { sampleRate: 16000, encoding: 's16le' as const, channels: 1 } };

async function errorAfter(c: Conn, send: () => void): Promise<{ code: string; fatal: boolean; message: string }> {
  const from = c.messages.length;
  send();
  const e = await c.next('error', from);
  assert.ok(e.message.length > 10, 'a sentence, not just a code');
  return e;
}

/** A healthy session still works on this server. */
async function stillServes(base: string): Promise<void> {
  const c = await connect(`${base}/v1/stream`, 'json');
  c.send({ ...START, hopMs: 500 });
  await c.next('ready');
  sendChunks(c, toS16(tone(3.2)), 8000);
  c.send({ type: 'stop' });
  const end = await c.next('end');
  assert.ok(end.windows >= 2, `the server still computes windows (${end.windows})`);
}

S('audio before start, then a normal session on the same connection', async ({ base }) => {
  const c = await connect(`${base}/v1/stream`);
  const e = await errorAfter(c, () => c.ws.send(Buffer.alloc(320)));
  assert.is(e.code, 'audio_before_start');
  assert.is(e.fatal, false);
  assert.is((await errorAfter(c, () => c.send({ type: 'flush' }))).code, 'not_started');
  c.send({ ...START, hopMs: 500 });
  await c.next('ready');
  assert.is((await errorAfter(c, () => c.send(START))).code, 'already_started');
  sendChunks(c, toS16(tone(3.5)), 999);
  c.send({ type: 'stop' });
  assert.is((await errorAfter(c, () => c.ws.send(Buffer.alloc(320)))).code, 'after_stop');
  const end = await c.next('end');
  assert.is(end.windows, 2);
});

S('malformed JSON, non-object JSON, unknown type, wrong field types', async ({ base }) => {
  const c = await connect(`${base}/v1/stream`);
  assert.is((await errorAfter(c, () => c.ws.send('{"type": "start", '))).code, 'malformed_json');
  assert.is((await errorAfter(c, () => c.ws.send('[1,2]'))).code, 'malformed_json');
  assert.is((await errorAfter(c, () => c.ws.send('{"no_type": 1}'))).code, 'malformed_json');
  const unknown = await errorAfter(c, () => c.ws.send('{"type": "dance"}'));
  assert.is(unknown.code, 'unknown_message');
  assert.match(unknown.message, 'dance');
  const bad = await errorAfter(c, () =>
    c.ws.send('{"type": "start", "audio": {"sampleRate": "fast", "encoding": "s16le", "channels": 1}}'),
  );
  assert.is(bad.code, 'invalid_message');
  assert.match(bad.message, 'sampleRate');
  // After all that the connection can still start a session.
  c.send(START);
  await c.next('ready');
  c.ws.close();
});

S('malformed protobuf; text frame on a protobuf connection', async ({ base }) => {
  const c = await connect(`${base}/v1/stream`, 'proto');
  assert.is((await errorAfter(c, () => c.ws.send(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 1])))).code, 'malformed_protobuf');
  assert.is((await errorAfter(c, () => c.ws.send('{"type":"start"}'))).code, 'malformed_protobuf');
  assert.is((await errorAfter(c, () => c.ws.send(Buffer.alloc(0)))).code, 'unknown_message');
  c.send(START);
  await c.next('ready');
  c.ws.close();
});

S('unsupported formats and settings', async ({ base }) => {
  const c = await connect(`${base}/v1/stream`);
  const cases: [unknown, string][] = [
    [{ sampleRate: 16000, encoding: 's24le', channels: 1 }, 'unsupported_format'],
    [{ sampleRate: 100, encoding: 's16le', channels: 1 }, 'unsupported_format'],
    [{ sampleRate: 16000, encoding: 's16le', channels: 0 }, 'unsupported_format'],
    [{ sampleRate: 16000, encoding: 's16le', channels: 99 }, 'unsupported_format'],
  ];
  for (const [audio, code] of cases) assert.is((await errorAfter(c, () => c.ws.send(JSON.stringify({ type: 'start', audio })))).code, code);
  assert.is((await errorAfter(c, () => c.ws.send(JSON.stringify({ type: 'start' })))).code, 'invalid_start');
  assert.is((await errorAfter(c, () => c.send({ ...START, hopMs: 15 }))).code, 'invalid_start');
  assert.is((await errorAfter(c, () => c.send({ ...START, hopMs: 505 }))).code, 'invalid_start');
  assert.is((await errorAfter(c, () => c.send({ ...START, session: 'no spaces/slashes' }))).code, 'invalid_start');
  assert.is((await errorAfter(c, () => c.send({ ...START, smoothing: { margin: 3 } }))).code, 'invalid_start');
  c.send(START);
  await c.next('ready');
  c.ws.close();
});

S('a stream that stops in the middle of a sample', async ({ base }) => {
  const c = await connect(`${base}/v1/stream`);
  c.send({ type: 'start', audio: { sampleRate: 16000, encoding: 's16le', channels: 2 } });
  await c.next('ready');
  c.ws.send(Buffer.alloc(4 * 1000 + 3)); // 1000 stereo frames and 3 bytes of the next
  c.send({ type: 'stop' });
  const e = await c.next('error');
  assert.is(e.code, 'pcm_partial_sample');
  assert.is(e.fatal, false);
  const end = await c.next('end');
  assert.is(end.audioMs, 62.5, 'the whole frames were kept');
});

S('NaN and infinite samples are replaced by zeros and reported', async ({ base }) => {
  const c = await connect(`${base}/v1/stream`);
  c.send({ type: 'start', audio: { sampleRate: 16000, encoding: 'f32le', channels: 1 }, hopMs: 500 });
  await c.next('ready');
  const x = tone(3.2);
  x[100] = NaN;
  x[2000] = Infinity;
  x[2001] = -Infinity;
  sendChunks(c, toF32(x), 16000);
  const e = await c.next('error');
  assert.is(e.code, 'non_finite_samples');
  assert.match(e.message, '3 ');
  c.send({ type: 'stop' });
  const end = await c.next('end');
  assert.is(end.windows, 2, 'the session carried on');
  for (const p of c.of('posterior')) for (const v of Object.values(p.probs)) assert.ok(Number.isFinite(v));
});

S('a message over the size limit is refused unread: message_too_large, then close 1009; others unaffected', async ({ base, server }) => {
  const limit = server.limits.maxMessageBytes;
  for (const encoding of ['json', 'proto'] as const) {
    const c = await connect(`${base}/v1/stream`, encoding);
    c.send(START);
    await c.next('ready');
    c.send({ type: 'audio', data: new Uint8Array(1000) }); // well under the limit: fine
    // A frame header announcing more than the limit: only the header is ever read.
    const e = await errorAfter(c, () => c.ws.send(Buffer.alloc(limit + 64)));
    assert.is(e.code, 'message_too_large', encoding);
    assert.is(e.fatal, true);
    assert.is((await c.closed).code, 1009);
  }
  // Fragments: each under the limit, together over it.
  const f = await connect(`${base}/v1/stream`);
  const piece = Buffer.alloc(Math.ceil(limit / 3));
  for (let i = 0; i < 3; i++) f.ws.send(piece, { binary: true, fin: false });
  f.ws.send(piece, { binary: true, fin: true });
  assert.is((await f.next('error')).code, 'message_too_large');
  assert.is((await f.closed).code, 1009);
  await stillServes(base);
});

S('a message of exactly the limit is accepted', async ({ base, server }) => {
  const c = await connect(`${base}/v1/stream`);
  c.send(START);
  await c.next('ready');
  const x = tone(3.1);
  const bytes = toS16(x);
  assert.ok(bytes.length > server.limits.maxMessageBytes);
  c.ws.send(bytes.subarray(0, server.limits.maxMessageBytes));
  sendChunks(c, bytes.subarray(server.limits.maxMessageBytes), 8000);
  c.send({ type: 'stop' });
  assert.is((await c.next('end')).windows, planWindows(frameCount(x.length)).length);
  assert.equal(c.of('error'), []);
});

S('a broken WebSocket frame gets a coded error before the protocol-error close', async ({ base }) => {
  const c = await connect(`${base}/v1/stream`);
  // An unmasked client frame breaks the protocol (RFC 6455 5.1).
  (c.ws as unknown as { _socket: net.Socket })._socket.write(Buffer.from([0x82, 0x02, 0x01, 0x02]));
  const e = await c.next('error');
  assert.is(e.code, 'websocket_protocol_error');
  assert.is(e.fatal, true);
  assert.is((await c.closed).code, 1002);
});

S('default limit: 1 MiB', async () => {
  const server = new EmostreamServer({ engine: new TestEngine(), port: 0 });
  const { port } = await server.listen();
  try {
    const c = await connect(`ws://127.0.0.1:${port}/v1/stream`);
    c.send(START);
    await c.next('ready');
    c.ws.send(Buffer.alloc(1024 * 1024)); // exactly 1 MiB is fine
    const e = await errorAfter(c, () => c.ws.send(Buffer.alloc(1024 * 1024 + 1)));
    assert.is(e.code, 'message_too_large');
    assert.is(c.of('error').length, 1);
    assert.is((await c.closed).code, 1009);
  } finally {
    await server.close();
  }
});

S('unknown session, bad subscribe path, unsupported subprotocol, subscriber sending audio', async ({ base }) => {
  const s = await connect(`${base}/v1/subscribe/nobody-here`);
  const e = await s.next('error');
  assert.is(e.code, 'unknown_session');
  assert.is(e.fatal, true);
  assert.is((await s.closed).code, 1008);

  const wrong = await connect(`${base}/v1/stream`, 'json', {}, ['emostream.v9.xml']).catch((err: Error) => err);
  assert.ok(wrong instanceof Error, 'a client offering only unknown subprotocols cannot connect');

  const missing = new WebSocket(`${base}/v2/whatever`);
  const status = await new Promise<number>((r) =>
    missing.on('unexpected-response', (_req, res) => r(res.statusCode ?? 0)).on('error', () => r(-1)),
  );
  assert.is(status, 404);

  const pub = await connect(`${base}/v1/stream`);
  pub.send({ ...START, session: 'watched' });
  await pub.next('ready');
  const sub = await connect(`${base}/v1/subscribe/watched`);
  await sub.next('ready');
  assert.is((await errorAfter(sub, () => sub.ws.send(Buffer.alloc(10)))).code, 'subscriber_cannot_publish');
  sub.send({ type: 'ping', id: 'p1' });
  assert.is((await sub.next('pong')).id, 'p1');
  pub.send({ type: 'ping', id: 'p2' });
  assert.is((await pub.next('pong')).id, 'p2');
  const dup = await connect(`${base}/v1/stream`);
  assert.is((await errorAfter(dup, () => dup.send({ ...START, session: 'watched' }))).code, 'session_exists');
  dup.ws.close();
  pub.send({ type: 'stop' });
  await sub.closed;
});

S('invalid UTF-8, broken %-encoding, odd request targets: coded errors, no crash', async ({ base }) => {
  const c = await connect(`${base}/v1/stream`);
  assert.is((await errorAfter(c, () => c.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false }))).code, 'malformed_json');
  c.ws.close();
  const s = await connect(`${base}/v1/subscribe/%E0%A4%A`);
  assert.is((await s.next('error')).code, 'unknown_session');
  const port = new URL(base).port;
  const status = await new Promise<string>((resolve) => {
    const sock = net.connect(Number(port), '127.0.0.1', () => sock.write('GET //[ HTTP/1.1\r\nHost: x\r\n\r\n'));
    let got = '';
    sock.on('data', (d) => {
      got += d;
      sock.destroy();
      resolve(got.split('\r\n')[0]);
    });
    sock.on('error', () => resolve('error'));
  });
  assert.match(status, /^HTTP\/1\.1 \d{3}/);
});

S('after all of the above the server still serves', async ({ base }) => {
  await stillServes(base);
});

S.run();
