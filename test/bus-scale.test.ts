// The scale benchmark's harness (bench --sections scale) on a tiny load: every message offered
// is delivered through the bus and timed; the figures themselves are the benchmark's business.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runNodesBench, runScaleBench } from '../src/bench/scale.js';
import { speechLike } from './helpers/bus-nodes.js';
import { haveRedis } from './helpers/redis.js';

(haveRedis() || process.env.CI === 'true' ? test : test.skip)('bench scale: every message delivered and timed', async () => {
  const lines: string[] = [];
  const rows = await runScaleBench({ streams: [3], perStreamHz: 10, seconds: 1, log: (l) => lines.push(l) });
  assert.is(rows.length, 3, 'the paced run, the no-bus baseline and the flat-out run');
  assert.equal(
    rows.map((r) => r.bus),
    ['redis', 'none', 'redis'],
  );
  for (const r of rows) {
    assert.ok(r.messages > 0);
    assert.is(r.delivered, r.messages, `${r.streams} streams at ${r.perStreamHz}/s`);
    assert.ok(r.hopP50Ms > 0 && r.hopP99Ms >= r.hopP50Ms && r.hopMaxMs >= r.hopP99Ms);
    assert.ok(r.messagesPerSec > 0 && r.redisCpu >= 0);
  }
  assert.is(rows[0].messages, 30);
  assert.is(lines.length, 3);
});

(haveRedis() || process.env.CI === 'true' ? test : test.skip)(
  'bench scale nodes: two real nodes, publishers spread, every posterior reaches the subscriber on the other node',
  async () => {
    const lines: string[] = [];
    const rows = await runNodesBench({
      nodeCounts: [2],
      ladder: [2],
      bisect: false,
      audio: Buffer.from(speechLike(6)),
      audioSeconds: 5,
      server: { model: 'models/basic-4', engine: 'onnx', threads: 2 },
      log: (l) => lines.push(l),
    });
    assert.is(rows.length, 1);
    const [row] = rows;
    console.log(`  ${lines.join('\n  ')}`);
    assert.is(row.nodes, 2);
    assert.is(row.threadsPerNode, 1, 'the total engine threads stay at --threads');
    assert.is(row.trials.length, 1);
    const [t] = row.trials;
    assert.equal(t.perNode, [1, 1], 'one publisher on each node');
    assert.ok(t.windows.expected > 0);
    assert.is(t.windows.publishers, t.windows.expected, 'every posterior to the publishers');
    assert.is(t.windows.subscribers, t.windows.expected, 'every posterior through the bus to the subscriber on the other node');
    assert.is(t.nodeCpu.length, 2);
    assert.ok(t.nodeCpu.every((c) => c > 0) && t.redisCpu >= 0 && t.benchCpu > 0);
    assert.ok(t.subscriberP99 > 0 && t.publisherP99 > 0);
    assert.is(t.nodeLoopDelayP99Ms.length, 2);
    assert.ok(
      t.nodeLoopDelayMaxMs.every((x, i) => x >= t.nodeLoopDelayP99Ms[i] && t.nodeLoopDelayP99Ms[i] > 0),
      `event-loop delay read from each node's /metrics: ${t.nodeLoopDelayP99Ms} / ${t.nodeLoopDelayMaxMs}`,
    );
    assert.is(lines.length, 2, 'a line for the trial and one for the count');
  },
);

test.run();
