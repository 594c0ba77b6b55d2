// Per-session access (issue #14, 4): tokens refused at the HTTP upgrade (401/403, never a
// WebSocket), a session's own subscribe token in its publisher's `ready`, unguessable server-chosen
// ids, and a per-address throttle on subscriptions that find no session.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { firstValueFrom } from 'rxjs';
import WebSocket from 'ws';
import { Publisher, subscribe } from '../src/client/client.js';
import { UserError } from '../src/errors.js';
import { EmostreamServer, UNKNOWN_SESSION_BURST, type ServerOptions } from '../src/server/server.js';
import { TestEngine } from './helpers/server-engine.js';
import { connect } from './helpers/server-ws.js';

const START = { type: 'start' as const, audio: { sampleRate: 16000, encoding: 's16le' as const, channels: 1 } };
const AUTH = { publishTokens: ['pub-secret'], subscribeTokens: ['sub-secret'], origins: ['https://ok.example'] };

async function serve(opts: Partial<ServerOptions> = {}) {
  const server = new EmostreamServer({ engine: new TestEngine(), port: 0, ...opts });
  const { port } = await server.listen();
  return { server, base: `ws://127.0.0.1:${port}` };
}

/** The HTTP answer to an upgrade that must be refused: status, the body's code, headers. */
function refusal(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; code: string; headers: Record<string, unknown> }>((resolve, reject) => {
    const ws = new WebSocket(url, ['emostream.v1.json'], { headers });
    ws.on('error', () => {});
    ws.on('open', () => {
      ws.terminate();
      reject(new Error(`${url} was upgraded (101), not refused`));
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        ws.terminate();
        resolve({ status: res.statusCode ?? 0, code: body.split(':')[0], headers: res.headers });
      });
    });
  });
}

test('tokens are checked at the upgrade: 401/403 with a coded body, no WebSocket', async () => {
  const { server, base } = await serve({ auth: AUTH });
  try {
    const r = await refusal(`${base}/v1/stream`);
    assert.equal([r.status, r.code], [401, 'unauthorized']);
    assert.is(r.headers['www-authenticate'], 'Bearer');
    assert.equal(
      [(await refusal(`${base}/v1/stream?token=nope`)).status, (await refusal(`${base}/v1/stream?token=nope`)).code],
      [401, 'bad_token'],
    );
    const f = await refusal(`${base}/v1/stream`, { authorization: 'Bearer sub-secret' });
    assert.equal([f.status, f.code], [403, 'forbidden']);
    const o = await refusal(`${base}/v1/stream?token=pub-secret`, { origin: 'https://evil.example' });
    assert.equal([o.status, o.code], [403, 'origin_not_allowed']);
    assert.is((await refusal(`${base}/v1/subscribe/anything`)).status, 401);
    assert.is(await server.metrics.value(server.metrics.connections, { endpoint: 'stream' }), 0, 'no WebSocket was accepted');
  } finally {
    await server.close();
  }
});

test("a session's subscribe token, in its publisher's ready, subscribes to that session only", async () => {
  const { server, base } = await serve({ auth: AUTH });
  try {
    const pub = await connect(`${base}/v1/stream?token=pub-secret`);
    pub.send(START);
    const ready = await pub.next('ready');
    const token = ready.subscribeToken!;
    assert.type(token, 'string');
    assert.ok(token.length >= 22, '128 bits');
    const other = await connect(`${base}/v1/stream?token=pub-secret`);
    other.send(START);
    const otherReady = await other.next('ready');
    assert.is.not(otherReady.subscribeToken, token, 'one token per session');

    const viewer = await connect(`${base}/v1/subscribe/${ready.session}?token=${token}`);
    const seen = await viewer.next('ready');
    assert.is(seen.session, ready.session);
    assert.is(seen.subscribeToken, undefined, 'subscribers are not handed the token');
    assert.is((await refusal(`${base}/v1/subscribe/${otherReady.session}?token=${token}`)).code, 'bad_token');
    assert.is((await refusal(`${base}/v1/stream?token=${token}`)).code, 'bad_token');
    const wide = await connect(`${base}/v1/subscribe/${otherReady.session}?token=sub-secret`);
    await wide.next('ready');
    for (const c of [pub, other]) c.send({ type: 'stop' });
    await Promise.all([viewer.next('end'), wide.next('end')]);
    // The session is over: its token opens nothing, not even a new session under the same id.
    assert.is((await refusal(`${base}/v1/subscribe/${ready.session}?token=${token}`)).code, 'bad_token');
  } finally {
    await server.close();
  }
});

test('without auth: no subscribe token; server-chosen ids carry 128 random bits', async () => {
  const { server, base } = await serve();
  try {
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const c = await connect(`${base}/v1/stream`);
      c.send(START);
      const ready = await c.next('ready');
      assert.is(ready.subscribeToken, undefined);
      assert.match(ready.session, /^[A-Za-z0-9_-]{22}$/);
      ids.add(ready.session);
      c.send({ type: 'stop' });
      await c.next('end');
    }
    assert.is(ids.size, 3);
  } finally {
    await server.close();
  }
});

test('subscriptions that find no session are throttled per address; found sessions are not', async () => {
  const { server, base } = await serve();
  try {
    const pub = await connect(`${base}/v1/stream`);
    pub.send({ ...START, session: 'real' });
    await pub.next('ready');
    for (let i = 0; i < 3 * UNKNOWN_SESSION_BURST; i++) {
      const s = await connect(`${base}/v1/subscribe/real`);
      await s.next('ready');
      s.ws.close();
      await s.closed;
    }
    for (let i = 0; i < UNKNOWN_SESSION_BURST; i++) {
      const s = await connect(`${base}/v1/subscribe/guess-${i}`);
      assert.is((await s.next('error')).code, 'unknown_session');
      await s.closed;
    }
    const r = await refusal(`${base}/v1/subscribe/guess-next`);
    assert.equal([r.status, r.code], [429, 'too_many_unknown_sessions']);
    assert.ok(Number(r.headers['retry-after']) >= 1);
    pub.send({ type: 'stop' });
    await pub.next('end');
  } finally {
    await server.close();
  }
});

test('the TypeScript client reports a refused handshake by its code', async () => {
  const { server, base } = await serve({ auth: AUTH });
  try {
    const audio = { sampleRate: 16000, encoding: 's16le' as const, channels: 1 };
    const bad = await Publisher.connect({ url: base, audio, token: 'nope' }).catch((e) => e);
    assert.instance(bad, UserError);
    assert.is(bad.code, 'bad_token');
    const sub = await Publisher.connect({ url: base, audio, token: 'sub-secret' }).catch((e) => e);
    assert.is(sub.code, 'forbidden');
    const pub = await Publisher.connect({ url: base, audio, token: 'pub-secret' });
    assert.type(pub.ready.subscribeToken, 'string');
    const first = await firstValueFrom(subscribe(pub.ready.session, { url: base, token: pub.ready.subscribeToken }));
    assert.is(first.type, 'ready');
    await pub.stop();
  } finally {
    await server.close();
  }
});

test('a metrics token guards /metrics and the details of /healthz', async () => {
  const { server, base } = await serve({ auth: { ...AUTH, publishTokens: [], subscribeTokens: [], metricsTokens: ['m-secret'] } });
  const http = base.replace('ws:', 'http:');
  try {
    const metrics = await fetch(`${http}/metrics`);
    assert.is(metrics.status, 401);
    assert.match(await metrics.text(), /^unauthorized: /);
    const allowed = await fetch(`${http}/metrics`, { headers: { authorization: 'Bearer m-secret' } });
    assert.is(allowed.status, 200);
    assert.match(await allowed.text(), /emostream_sessions/);
    const bare = await fetch(`${http}/healthz`);
    assert.is(bare.status, 200);
    assert.equal(await bare.json(), { status: 'ok' });
    const detail = (await (await fetch(`${http}/healthz?token=m-secret`)).json()) as Record<string, unknown>;
    assert.is(detail.model, 'test-4');
    assert.is(detail.sessions, 0);
    // The WebSocket endpoints stay open: this server has no publish/subscribe tokens.
    const c = await connect(`${base}/v1/stream`);
    c.send(START);
    await c.next('ready');
  } finally {
    await server.close();
  }
});

test.run();
