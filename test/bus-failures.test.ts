// The bus failing under real `emostream serve --bus` processes: Redis restarted mid-stream
// (everything it held is lost) and a node cut off from Redis without the connection closing
// (a frozen TCP relay). Streams must go on, losses must reach subscribers as coded errors, and a
// cut-off node must not queue without bound.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ServerProc } from '../src/bench/server-proc.js';
import type { ServerMessage } from '../src/protocol/messages.js';
import { AUTH, eventually, getJson, scrape, speechLike, START, startNode, startNodes, streamRealTime } from './helpers/bus-nodes.js';
import { haveRedis, startProxy, startRedis } from './helpers/redis.js';
import { connect } from './helpers/server-ws.js';

const TTL_MS = 2000;
const S = suite('bus failures');
const T = (name: string, fn: () => Promise<void>) => (haveRedis() || process.env.CI === 'true' ? S(name, fn) : S.skip(name, fn));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const key = (m: ServerMessage) => JSON.stringify(m);
/** The registry's sessions as a node lists them; [] while its bus is unavailable (503). */
const listed = async (node: ServerProc): Promise<string[]> => {
  const r = await getJson(`${node.url}v1/sessions`, AUTH);
  return r.status === 200 ? r.body.sessions.map((s: { session: string }) => s.session) : [];
};

T('Redis restarted mid-stream: nodes reconnect, the stream goes on, the lost messages are reported', async () => {
  const redis = await startRedis();
  const nodes: ServerProc[] = [];
  try {
    nodes.push(...(await startNodes(redis.url, ['A', 'B'], ['--bus-ttl-ms', String(TTL_MS)])));
    const [A, B] = nodes;
    const pub = await connect(`${A.wsUrl}v1/stream`, 'json', AUTH);
    pub.send(START('restart-1'));
    await pub.next('ready');
    const far = await connect(`${B.wsUrl}v1/subscribe/restart-1`, 'json', AUTH);
    await far.next('ready');
    const streaming = streamRealTime(pub, speechLike(9));
    await far.next('posterior');
    await redis.kill();
    await sleep(1500); // posteriors and events keep coming on A meanwhile
    await redis.restart();
    assert.ok(await eventually(async () => (await listed(B)).includes('restart-1')), 'A re-registered its session');
    await streaming.done;
    pub.send({ type: 'stop' });
    await pub.next('end');
    await far.next('end');

    const lostErrors = far.messages.filter((m) => m.type === 'error' && m.code === 'bus_lost');
    assert.ok(lostErrors.length >= 1, `bus_lost reported: ${far.messages.map((m) => m.type).join(',')}`);
    const reported = lostErrors.reduce((n, m) => n + ((m.type === 'error' && m.skipped) || 0), 0);
    const published = pub.messages.slice(1).map(key);
    const got = far.messages.slice(1).filter((m) => !(m.type === 'error' && m.code === 'bus_lost'));
    // What B got is the session's sequence minus exactly what it was told it lost.
    let i = 0;
    for (const m of got.map(key)) {
      while (i < published.length && published[i] !== m) i++;
      assert.ok(i < published.length, 'B got only the publisher’s messages, in order');
      i++;
    }
    assert.is(published.length - got.length, reported, 'every missing message was reported');
    const after = far.messages.slice(far.messages.indexOf(lostErrors[0]));
    assert.ok(
      after.some((m) => m.type === 'posterior'),
      'posteriors after the restart',
    );
    assert.ok(await eventually(async () => (await getJson(`${A.url}healthz`)).body.bus.inflight === 0), 'A has nothing in flight');
    const health = await getJson(`${A.url}healthz`);
    assert.ok(health.body.bus.lost >= 1 && health.body.bus.connected, JSON.stringify(health.body.bus));
    // /metrics carries the same counters for Prometheus.
    const [mA, mB] = [await scrape(A.url), await scrape(B.url)];
    assert.is(mA.get('emostream_bus_messages_lost_total'), health.body.bus.lost, 'A: lost in /metrics');
    assert.is(mA.get('emostream_bus_messages_published_total'), health.body.bus.published, 'A: published in /metrics');
    assert.is(
      mA.get('emostream_bus_messages_published_total')! + health.body.bus.lost,
      published.length,
      'A: every message after ready published or lost',
    );
    assert.ok(mA.get('emostream_bus_reconnects_total')! >= 1 && mB.get('emostream_bus_reconnects_total')! >= 1, 'reconnects counted');
    assert.is(mA.get('emostream_bus_connected'), 1);
    assert.is(mB.get('emostream_bus_messages_received_total'), got.length, 'B: every message it read from the bus');
    assert.is(mB.get('emostream_bus_messages_gap_reported_total'), reported, 'B: the reported gap');
    console.log(`  restart: ${reported} message(s) lost and reported; node A counted ${health.body.bus.lost} unsent`);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await redis.kill();
  }
});

T('a node cut off from Redis: bounded in-flight writes, its own clients served, publisher_gone elsewhere', async () => {
  const redis = await startRedis();
  const proxy = await startProxy(redis.port);
  const nodes: ServerProc[] = [];
  const MAX_INFLIGHT = 20;
  try {
    const flags = ['--bus-ttl-ms', String(TTL_MS)];
    nodes.push(await startNode(proxy.url, 'A', [...flags, '--bus-max-inflight', String(MAX_INFLIGHT)]));
    nodes.push(await startNode(redis.url, 'B', flags));
    const [A, B] = nodes;
    const pub = await connect(`${A.wsUrl}v1/stream`, 'json', AUTH);
    pub.send(START('cut-1'));
    await pub.next('ready');
    const near = await connect(`${A.wsUrl}v1/subscribe/cut-1`, 'json', AUTH);
    const far = await connect(`${B.wsUrl}v1/subscribe/cut-1`, 'json', AUTH);
    await Promise.all([near.next('ready'), far.next('ready')]);
    const streaming = streamRealTime(pub, speechLike(30));
    await far.next('posterior');
    proxy.freeze();
    const frozenAt = near.messages.length;
    let maxInflight = 0;
    let lost = 0;
    const gone = far.next('error', 0, 20_000);
    const deadline = Date.now() + TTL_MS * 3;
    while (Date.now() < deadline) {
      const bus = (await getJson(`${A.url}healthz`)).body.bus;
      maxInflight = Math.max(maxInflight, bus.inflight);
      lost = bus.lost;
      await sleep(200);
    }
    assert.ok(maxInflight <= MAX_INFLIGHT, `in flight ${maxInflight} ≤ ${MAX_INFLIGHT}`);
    assert.ok(lost > 0, 'messages past the cap were counted as lost');
    assert.is((await gone).code, 'publisher_gone', 'B gave up on the cut-off node');
    assert.ok(
      near.messages.slice(frozenAt).some((m) => m.type === 'posterior'),
      'A kept serving its own subscriber',
    );
    proxy.thaw();
    streaming.stop();
    pub.send({ type: 'stop' });
    await near.next('end');
    assert.ok(await eventually(async () => (await listed(B)).length === 0), 'nothing left in the registry');
    console.log(`  cut off: in flight at most ${maxInflight} (cap ${MAX_INFLIGHT}), ${lost} message(s) dropped and counted`);
  } finally {
    proxy.thaw();
    await Promise.all(nodes.map((n) => n.stop()));
    await proxy.close();
    await redis.kill();
  }
});

S.run();
