// The per-session subscriber cap across a cluster: three real `emostream serve --bus` processes
// with --max-subscribers 2 sharing one redis-server. Subscribers on the publishing node, on other
// nodes and waiting ones all count against the one cap; a seat comes back when its subscriber
// leaves, and lapses when its node dies.
import * as assert from 'uvu/assert';
import type { ServerProc } from '../src/bench/server-proc.js';
import type { ServerMessage } from '../src/protocol/messages.js';
import { AUTH, eventually, getJson, START, threeNodeSuite } from './helpers/bus-nodes.js';
import { connect, type Conn } from './helpers/server-ws.js';

const TTL_MS = 2000;
const CAP = 2;
const { S, T } = threeNodeSuite('bus subscriber cap', ['--bus-ttl-ms', String(TTL_MS), '--max-subscribers', String(CAP)]);

const sub = (node: ServerProc, id: string, query = '') => connect(`${node.wsUrl}v1/subscribe/${id}${query}`, 'json', AUTH);
const show = (ms: ServerMessage[]) => ms.map((m) => (m.type === 'error' ? `error:${m.code}` : m.type)).join(',');

/** Its first message: `ready` (a seat) or an error (refused). */
async function first(c: Conn): Promise<ServerMessage> {
  await Promise.race([c.next('ready').catch(() => {}), c.next('error').catch(() => {})]);
  return c.messages[0];
}

/** A refused subscriber got the coded error and nothing else, and was closed. */
async function assertRefused(c: Conn, who: string): Promise<void> {
  const m = await first(c);
  assert.ok(m?.type === 'error' && m.code === 'too_many_subscribers' && m.fatal, `${who}: refused (${show(c.messages)})`);
  await c.closed;
  assert.is(c.messages.length, 1, `${who}: nothing but the refusal (${show(c.messages)})`);
}

T('the cap counts subscribers on every node; a seat comes back when its subscriber leaves or its node dies', async ({ nodes }) => {
  const [A, B, C] = nodes;
  const pub = await connect(`${A.wsUrl}v1/stream`, 'json', AUTH);
  pub.send(START('capped-1'));
  await pub.next('ready');
  const near = await sub(A, 'capped-1');
  const far = await sub(B, 'capped-1');
  assert.is((await first(near)).type, 'ready', 'first seat: the publishing node');
  assert.is((await first(far)).type, 'ready', 'second seat: another node');
  // More refusals than the unknown-session throttle's burst (10): a full session is not a guessed id.
  for (let i = 0; i < 12; i++) await assertRefused(await sub(C, 'capped-1'), `a third on C (try ${i + 1})`);
  await assertRefused(await sub(A, 'capped-1'), 'a third on the publishing node');
  assert.is((await getJson(`${B.url}healthz`)).body.bus.seats, 1, 'B holds one seat');

  // B's subscriber leaves: its seat is free for a subscriber on any node.
  far.ws.close();
  await far.closed;
  assert.ok(
    await eventually(async () => {
      const c = await sub(C, 'capped-1');
      if ((await first(c)).type === 'ready') return true;
      await c.closed;
      return false;
    }),
    'the freed seat is taken from C',
  );
  await assertRefused(await sub(B, 'capped-1'), 'a third on B while C holds the seat');

  // C dies holding its seat: the seat lapses with C's refreshes (within the TTL), then B gets it.
  await C.kill();
  assert.ok(
    await eventually(async () => {
      const c = await sub(B, 'capped-1');
      const m = await first(c);
      if (m.type === 'ready') return true;
      assert.ok(m.type === 'error' && m.code === 'too_many_subscribers', show(c.messages));
      await c.closed;
      return false;
    }),
    "C's seat lapsed and B took it",
  );
  pub.send({ type: 'stop' });
  await near.next('end');
});

T('waiting subscribers take their seats when the session starts: those beyond the cap get only the refusal', async ({ nodes }) => {
  const [A, B] = nodes;
  const waiters = await Promise.all([sub(B, 'capped-2', '?wait=30s'), sub(B, 'capped-2', '?wait=30s'), sub(A, 'capped-2', '?wait=30s')]);
  // Every waiter is following the session's stream before it starts.
  assert.ok(await eventually(async () => (await getJson(`${B.url}healthz`)).body.bus.following === 2), 'B follows for two waiters');
  const pub = await connect(`${A.wsUrl}v1/stream`, 'json', AUTH);
  pub.send(START('capped-2'));
  await pub.next('ready');
  const firsts = await Promise.all(waiters.map(first));
  const seated = waiters.filter((_, i) => firsts[i].type === 'ready');
  const refused = waiters.filter((_, i) => firsts[i].type !== 'ready');
  assert.is(seated.length, CAP, `seated: ${firsts.map((m) => m.type).join(',')}`);
  for (const c of refused) await assertRefused(c, 'the waiter beyond the cap');
  pub.send({ type: 'stop' });
  await pub.next('end');
  for (const c of seated) {
    await c.next('end');
    // A seated waiter gets the whole session, as the publisher did.
    const { subscribeToken: _, ...ready } = pub.of('ready')[0];
    assert.is(JSON.stringify(c.messages), JSON.stringify([ready, ...pub.messages.slice(1)]), 'a seated waiter == the publisher');
  }
});

S.run();
