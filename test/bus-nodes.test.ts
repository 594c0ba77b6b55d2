// Three real `emostream serve --bus` processes sharing one redis-server (started here, on a free
// port): a session published on node A is followed from B and C with the same messages in the
// same order as on A; late subscribers get history then live with nothing lost or repeated at
// the seam; a subscriber can wait for a session that starts later on another node; the registry
// lists sessions across nodes; killing A ends its sessions for B's subscribers (publisher_gone)
// and leaves nothing in the registry.
import * as assert from 'uvu/assert';
import type { ServerProc } from '../src/bench/server-proc.js';
import type { ServerMessage } from '../src/protocol/messages.js';
import { AUTH, eventually, getJson, speechLike, START, streamRealTime, SUBSCRIBE_TOKEN, threeNodeSuite } from './helpers/bus-nodes.js';
import { connect, type Conn } from './helpers/server-ws.js';

const TTL_MS = 2000;
const { S, T } = threeNodeSuite('bus nodes', ['--bus-ttl-ms', String(TTL_MS)]);

const sub = (node: ServerProc, id: string, query = '') => connect(`${node.wsUrl}v1/subscribe/${id}${query}`, 'json', AUTH);
const show = (ms: ServerMessage[]) => ms.map((m) => (m.type === 'error' ? `error:${m.code}` : m.type)).join(',');

/**
 * A late subscriber's sequence against an early one's: ready, then every turn and event (the
 * history cap is not reached here), and of the posteriors the latest before it joined then every
 * later one — each exactly once, in order.
 */
function assertSeam(early: ServerMessage[], late: ServerMessage[], who: string): void {
  const key = (m: ServerMessage) => JSON.stringify(m);
  assert.equal(late[0], early[0], `${who}: ready`);
  const events = (ms: ServerMessage[]) =>
    ms
      .slice(1)
      .filter((m) => m.type !== 'posterior')
      .map(key);
  assert.equal(events(late), events(early), `${who}: turns and events`);
  const ep = early.filter((m) => m.type === 'posterior').map(key);
  const lp = late.filter((m) => m.type === 'posterior').map(key);
  assert.ok(lp.length > 0, `${who}: has posteriors`);
  const from = ep.indexOf(lp[0]);
  assert.ok(from >= 0, `${who}: its first posterior is one the early subscriber got`);
  assert.equal(lp, ep.slice(from), `${who}: posteriors from the seam on, none lost or repeated`);
  // Its order among the other messages is the session's order too.
  const at = early.findIndex((m) => key(m) === lp[0]);
  const tail = early.slice(at).map(key);
  assert.equal(late.slice(late.findIndex((m) => key(m) === lp[0])).map(key), tail, `${who}: the live part is identical`);
}

T('cross-node subscribers get the same messages in the same order; waiting, history, listing', async ({ nodes }) => {
  const [A, B, C] = nodes;
  // C waits for a session that has not started; it will start on A.
  const waiter = await sub(C, 'meeting-1', '?wait=30s');
  const pub = await connect(`${A.wsUrl}v1/stream`, 'json', AUTH);
  pub.send(START('meeting-1'));
  await pub.next('ready');
  const sameNode = await sub(A, 'meeting-1');
  const crossNode = await sub(B, 'meeting-1');
  await sameNode.next('ready');
  await crossNode.next('ready');

  const listed = await getJson(`${C.url}v1/sessions`, { authorization: `Bearer ${SUBSCRIBE_TOKEN}` });
  assert.is(listed.status, 200);
  assert.equal(
    listed.body.sessions.map((s: { session: string; node: string }) => [s.session, s.node]),
    [['meeting-1', 'A']],
  );
  const refused = await getJson(`${C.url}v1/sessions`);
  assert.is(refused.status, 401);
  assert.is(refused.body.error.code, 'unauthorized');

  const audio = speechLike(5);
  const s1 = streamRealTime(pub, audio.subarray(0, audio.length / 2));
  await s1.done;
  await pub.next('utterance'); // some turns and events are history now
  const lateSame = await sub(A, 'meeting-1');
  const lateCross = await sub(C, 'meeting-1');
  await streamRealTime(pub, audio.subarray(audio.length / 2)).done;
  pub.send({ type: 'stop' });
  const conns: Conn[] = [pub, sameNode, crossNode, waiter, lateSame, lateCross];
  await Promise.all(conns.map((c) => c.next('end')));
  await Promise.all(conns.map((c) => c.closed));

  assert.ok(pub.of('posterior').length >= 10, `posteriors: ${show(pub.messages)}`);
  assert.ok(pub.of('utterance').length >= 2, `turns: ${show(pub.messages)}`);
  const json = (c: Conn) => JSON.stringify(c.messages);
  assert.is(json(crossNode), json(sameNode), 'node B == node A');
  assert.is(json(waiter), json(sameNode), 'node C (waited) == node A');
  // Only the publisher's ready carries the session's subscribe token.
  assert.type(pub.of('ready')[0].subscribeToken, 'string');
  const { subscribeToken: _, ...pubReady } = pub.of('ready')[0];
  assert.is(json(sameNode), JSON.stringify([pubReady, ...pub.messages.slice(1)]), 'subscribers == publisher');
  assertSeam(sameNode.messages, lateSame.messages, 'late on A');
  assertSeam(sameNode.messages, lateCross.messages, 'late on C');

  assert.ok(
    await eventually(async () => (await getJson(`${B.url}v1/sessions`, AUTH)).body.sessions.length === 0),
    'registry empty after end',
  );
});

T('a session id is unique across nodes; waiting for one that never starts is a coded error', async ({ nodes }) => {
  const [A, B] = nodes;
  const p1 = await connect(`${A.wsUrl}v1/stream`, 'json', AUTH);
  p1.send(START('only-once'));
  await p1.next('ready');
  const p2 = await connect(`${B.wsUrl}v1/stream`, 'json', AUTH);
  p2.send(START('only-once'));
  const err = await p2.next('error');
  assert.is(err.code, 'session_exists');
  p1.send({ type: 'stop' });
  await p1.closed;
  p2.ws.close();

  const never = await sub(B, 'never-starts', '?wait=1s');
  const e = await never.next('error');
  assert.is(e.code, 'session_not_started');
  assert.ok(e.fatal);
  await never.closed;
  const unknown = await sub(B, 'never-starts');
  assert.is((await unknown.next('error')).code, 'unknown_session');
  const bad = await sub(B, 'x', '?wait=soon');
  assert.is((await bad.next('error')).code, 'invalid_wait');
});

T('a killed node: other nodes’ subscribers get publisher_gone, the registry drops its session', async ({ nodes }) => {
  const [A, B, C] = nodes;
  const pub = await connect(`${A.wsUrl}v1/stream`, 'json', AUTH);
  pub.send(START('doomed'));
  await pub.next('ready');
  const follower = await sub(B, 'doomed');
  await follower.next('ready');
  const streaming = streamRealTime(pub, speechLike(30));
  await follower.next('posterior');
  const killedAt = Date.now();
  await A.kill();
  streaming.stop();
  const gone = await follower.next('error', 0, 20_000);
  const after = Date.now() - killedAt;
  assert.is(gone.code, 'publisher_gone');
  await follower.closed;
  console.log(`  publisher_gone ${after} ms after the kill (registry TTL ${TTL_MS} ms)`);
  assert.ok(
    await eventually(
      async () => !(await getJson(`${C.url}v1/sessions`, AUTH)).body.sessions.some((s: { session: string }) => s.session === 'doomed'),
    ),
    'the registry forgot the session',
  );
  const health = await getJson(`${B.url}healthz`);
  assert.is(health.body.bus.following, 0, 'no follower left on B');
});

S.run();
