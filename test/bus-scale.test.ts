// The scale benchmark's harness (bench --sections scale) on a tiny load: every message offered
// is delivered through the bus and timed; the figures themselves are the benchmark's business.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runScaleBench } from '../src/bench/scale.js';
import { haveRedis } from './helpers/redis.js';

(haveRedis() || process.env.CI === 'true' ? test : test.skip)('bench scale: every message delivered and timed', async () => {
  const lines: string[] = [];
  const rows = await runScaleBench({ streams: [3], perStreamHz: 10, seconds: 1, log: (l) => lines.push(l) });
  assert.is(rows.length, 2, 'the paced run and the flat-out run');
  for (const r of rows) {
    assert.ok(r.messages > 0);
    assert.is(r.delivered, r.messages, `${r.streams} streams at ${r.perStreamHz}/s`);
    assert.ok(r.hopP50Ms > 0 && r.hopP99Ms >= r.hopP50Ms && r.hopMaxMs >= r.hopP99Ms);
    assert.ok(r.messagesPerSec > 0 && r.redisCpu >= 0);
  }
  assert.is(rows[0].messages, 30);
  assert.is(lines.length, 2);
});

test.run();
