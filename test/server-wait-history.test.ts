// One process, no bus: a subscriber may wait for a session that has not started (?wait=), a late
// subscriber gets the session's bounded history then the live messages, and GET /v1/sessions
// lists this process's sessions to authorised callers.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EmostreamServer, type ServerOptions } from '../src/server/server.js';
import { SessionHistory } from '../src/server/history.js';
import { parseWait } from '../src/server/settings.js';
import type { ServerMessage } from '../src/protocol/messages.js';
import { speechLike } from './helpers/bus-nodes.js';
import { TestEngine } from './helpers/server-engine.js';
import { connect, sendChunks } from './helpers/server-ws.js';

const S = suite('server wait and history');
const START = {
  type: 'start' as const,
  session: 'w1',
  audio: { sampleRate: 16000, encoding: 's16le' as const, channels: 1 },
  hopMs: 250,
  minWindowMs: 1000,
};

async function serve(opts: Partial<ServerOptions> = {}) {
  const server = new EmostreamServer({ engine: new TestEngine(), ...opts, port: 0 });
  const { port } = await server.listen();
  return { server, ws: `ws://127.0.0.1:${port}`, http: `http://127.0.0.1:${port}` };
}

S('parseWait: durations, plain seconds, bad values', () => {
  assert.is(parseWait(null), 0);
  assert.is(parseWait('30s'), 30000);
  assert.is(parseWait('500ms'), 500);
  assert.is(parseWait('2m'), 120000);
  assert.is(parseWait('1.5'), 1500);
  for (const bad of ['soon', '-1s', '10h', '301s', '1e3']) assert.throws(() => parseWait(bad), /wait/);
});

S('history: count cap, age cap, the latest posterior kept in its place', () => {
  let now = 0;
  const h = new SessionHistory({ count: 3, ageMs: 1000 }, () => now);
  const ev = (atMs: number): ServerMessage => ({ type: 'speech', active: true, atMs, channel: 0 });
  const post = (seq: number, channel = 0): ServerMessage => ({
    channel,
    type: 'posterior',
    seq,
    startMs: 0,
    endMs: 0,
    probs: {},
    speech: 1,
    computeMs: 0,
    latencyMs: 0,
    batchSize: 1,
  });
  h.push(ev(1));
  h.push(post(1));
  h.push(ev(2));
  h.push(post(2));
  h.push(ev(3));
  assert.equal(h.replay(), [ev(1), ev(2), post(2), ev(3)]);
  h.push(ev(4)); // ev(1) falls out of the count cap
  assert.equal(h.replay(), [ev(2), post(2), ev(3), ev(4)]);
  now = 900;
  h.push(ev(5));
  now = 1500; // ev 2..4 are older than 1000 ms now
  assert.equal(h.replay(), [post(2), ev(5)]);
  h.push(post(3));
  assert.equal(h.replay(), [ev(5), post(3)]);
  // One latest posterior per track (channelMode "separate"), each in its place.
  h.push(post(1, 1));
  h.push(ev(6));
  h.push(post(4));
  assert.equal(h.replay(), [ev(5), post(1, 1), ev(6), post(4)]);
});

S('?wait: a subscriber that connects first gets the whole session; a session that never starts is session_not_started', async () => {
  const { server, ws } = await serve();
  try {
    const early = await connect(`${ws}/v1/subscribe/w1?wait=10s`);
    const never = await connect(`${ws}/v1/subscribe/other?wait=300ms`);
    const pub = await connect(`${ws}/v1/stream`);
    pub.send(START);
    await pub.next('ready');
    sendChunks(pub, speechLike(3), 3200);
    pub.send({ type: 'stop' });
    await pub.next('end');
    await early.next('end');
    assert.equal(early.messages, pub.messages);
    const e = await never.next('error');
    assert.is(e.code, 'session_not_started');
    assert.ok(e.fatal);
    await never.closed;
    const bad = await connect(`${ws}/v1/subscribe/w1?wait=forever`);
    assert.is((await bad.next('error')).code, 'invalid_wait');
    const gone = await connect(`${ws}/v1/subscribe/w1`);
    assert.is((await gone.next('error')).code, 'unknown_session');
  } finally {
    await server.close();
  }
});

S('a late subscriber gets ready, the history, then live: nothing lost or repeated at the seam', async () => {
  const { server, ws } = await serve();
  try {
    const pub = await connect(`${ws}/v1/stream`);
    pub.send(START);
    await pub.next('ready');
    const audio = speechLike(4);
    sendChunks(pub, audio.subarray(0, audio.length / 2), 3200);
    await pub.next('utterance');
    await pub.next('posterior');
    const late = await connect(`${ws}/v1/subscribe/w1`);
    await late.next('ready');
    const seen = pub.messages.length;
    sendChunks(pub, audio.subarray(audio.length / 2), 3200);
    pub.send({ type: 'stop' });
    await pub.next('end');
    await late.next('end');
    const key = (m: ServerMessage) => JSON.stringify(m);
    // Before the seam: every non-posterior message and only the latest posterior, in order.
    const before = pub.messages.slice(0, seen);
    const lastPosterior = before.map(key).lastIndexOf(key([...before].reverse().find((m) => m.type === 'posterior')!));
    const expected = before.filter((m, i) => m.type !== 'posterior' || i === lastPosterior);
    assert.equal(late.messages, [...expected, ...pub.messages.slice(seen)]);
  } finally {
    await server.close();
  }
});

S('GET /v1/sessions: this process’s sessions, tokens required when configured', async () => {
  const auth = { publishTokens: ['p'], subscribeTokens: ['s'], origins: [] };
  const { server, ws, http } = await serve({ auth });
  try {
    const pub = await connect(`${ws}/v1/stream`, 'json', { authorization: 'Bearer p' });
    pub.send(START);
    await pub.next('ready');
    const ok = await fetch(`${http}/v1/sessions`, { headers: { authorization: 'Bearer s' } });
    assert.is(ok.status, 200);
    const body = (await ok.json()) as { sessions: { session: string; model: string }[] };
    assert.equal(
      body.sessions.map((s) => [s.session, s.model]),
      [['w1', 'test-4']],
    );
    const no = await fetch(`${http}/v1/sessions`);
    assert.is(no.status, 401);
    assert.is(((await no.json()) as { error: { code: string } }).error.code, 'unauthorized');
    const bad = await fetch(`${http}/v1/sessions?token=wrong`);
    assert.is(bad.status, 403);
    pub.send({ type: 'stop' });
    await pub.closed;
  } finally {
    await server.close();
  }
});

S('GET /v1/sessions: off on a server without tokens; the metrics token lists when only it is set', async () => {
  const open = await serve({});
  try {
    const r = await fetch(`${open.http}/v1/sessions`);
    assert.is(r.status, 403);
    assert.is(((await r.json()) as { error: { code: string } }).error.code, 'listing_disabled');
  } finally {
    await open.server.close();
  }
  const { server, ws, http } = await serve({ auth: { publishTokens: [], subscribeTokens: [], origins: [], metricsTokens: ['m'] } });
  try {
    const pub = await connect(`${ws}/v1/stream`, 'json');
    pub.send(START);
    await pub.next('ready');
    const no = await fetch(`${http}/v1/sessions`);
    assert.is(no.status, 401);
    const ok = await fetch(`${http}/v1/sessions?token=m`);
    assert.is(ok.status, 200);
    assert.equal(
      ((await ok.json()) as { sessions: { session: string }[] }).sessions.map((s) => s.session),
      ['w1'],
    );
    pub.send({ type: 'stop' });
    await pub.closed;
  } finally {
    await server.close();
  }
});

S.run();
