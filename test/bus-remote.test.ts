// Remote inference with real processes: two `emostream infer-worker`s on one redis-server, a node
// with `--engine remote --remote-fallback local` and one with `--remote-fallback overloaded`,
// each publishing the same audio. One worker is killed mid-stream, then the other. The "local"
// node computes every window anyway; the "overloaded" node reports every window it could not
// compute. No window is lost silently.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO } from '../src/bench/models.js';
import type { ServerProc } from '../src/bench/server-proc.js';
import { AUTH, getJson, scrape, speechLike, startNode, streamRealTime } from './helpers/bus-nodes.js';
import { haveRedis, startRedis } from './helpers/redis.js';
import { connect, type Conn } from './helpers/server-ws.js';

const S = suite('bus remote inference');
const T = (name: string, fn: () => Promise<void>) => (haveRedis() || process.env.CI === 'true' ? S(name, fn) : S.skip(name, fn));

async function startWorker(url: string, name: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(REPO, 'src/cli/main.ts'),
      'infer-worker',
      '--bus',
      url,
      '--model',
      'models/basic-4',
      '--engine',
      'onnx',
      '--threads',
      '1',
      '--name',
      name,
    ],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start: ${out}`)), 60_000);
    child.stdout!.on('data', (b) => {
      out += b;
      if (/infer-worker .* serving/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on('data', (b) => (out += b));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${code}): ${out}`));
    });
  });
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

const START = {
  type: 'start' as const,
  session: 'remote-1',
  audio: { encoding: 's16le' as const, sampleRate: 16000, channels: 1 },
  hopMs: 250,
  minWindowMs: 1000,
};

T('two workers, both killed mid-stream: windows recomputed locally or reported as overloaded, none lost', async () => {
  const redis = await startRedis();
  const workers: ChildProcess[] = [];
  const nodes: ServerProc[] = [];
  try {
    workers.push(...(await Promise.all(['w1', 'w2'].map((n) => startWorker(redis.url, n)))));
    const remote = ['--engine', 'remote', '--remote-deadline-ms', '400'];
    nodes.push(await startNode(redis.url, 'L', [...remote, '--remote-fallback', 'local']));
    nodes.push(await startNode(redis.url, 'O', [...remote, '--remote-fallback', 'overloaded']));
    const [L, O] = nodes;
    const pubs: Conn[] = [];
    for (const [node, id] of [
      [L, 'remote-local'],
      [O, 'remote-overloaded'],
    ] as const) {
      const c = await connect(`${node.wsUrl}v1/stream`, 'json', AUTH);
      c.send({ ...START, session: id });
      await c.next('ready');
      pubs.push(c);
    }
    const audio = speechLike(8);
    const streams = pubs.map((c) => streamRealTime(c, audio));
    const posteriors = async (k: number) => {
      for (const c of pubs) while (c.of('posterior').length < k) await c.next('posterior', c.messages.length);
    };
    await posteriors(3);
    await kill(workers[0]);
    await posteriors(6);
    await kill(workers[1]);
    await Promise.all(streams.map((s) => s.done));
    for (const c of pubs) c.send({ type: 'stop' });
    const [endL, endO] = await Promise.all(pubs.map((c) => c.next('end', 0, 60_000)));
    const [pl, po] = pubs;

    // The "local" node: every window computed, here or by a worker.
    assert.is(endL.skipped, 0);
    assert.is(endL.windows, pl.of('posterior').length);
    assert.is(pl.of('error').filter((e) => e.code === 'overloaded').length, 0);
    const statsL = (await getJson(`${L.url}healthz`)).body.engineStats;
    assert.ok(statsL.remoteWindows > 0 && statsL.localWindows > 0, JSON.stringify(statsL));
    // The "overloaded" node: what it computed plus what it reported skipped is every window.
    assert.is(endO.windows, po.of('posterior').length);
    assert.ok(endO.skipped > 0, `skipped ${endO.skipped}`);
    assert.is(endO.windows + endO.skipped, endL.windows, 'computed + reported = all windows');
    const statsO = (await getJson(`${O.url}healthz`)).body.engineStats;
    assert.ok(statsO.remoteWindows > 0 && statsO.overloadedWindows > 0, JSON.stringify(statsO));
    // /metrics carries the same counts for Prometheus.
    for (const [node, stats] of [
      [L, statsL],
      [O, statsO],
    ] as const) {
      const m = await scrape(node.url);
      assert.is(m.get('emostream_remote_windows_total{computed="remote"}'), stats.remoteWindows);
      assert.is(m.get('emostream_remote_windows_total{computed="local"}'), stats.localWindows);
      assert.is(m.get('emostream_remote_windows_total{computed="skipped"}'), stats.overloadedWindows);
      assert.is(m.get('emostream_remote_timeouts_total'), stats.timedOutBatches);
      assert.ok(stats.timedOutBatches > 0, 'the killed workers made batches time out');
    }
    console.log(`  local fallback: ${JSON.stringify(statsL)}; overloaded fallback: ${JSON.stringify(statsO)}, end.skipped ${endO.skipped}`);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await Promise.all(workers.map(kill));
    await redis.kill();
  }
});

S.run();
