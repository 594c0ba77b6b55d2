// The TypeScript client (Publisher, subscribe with reconnect) and the stream/subscribe CLIs
// against a real server (deterministic TestEngine, so speed does not matter).
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { suite } from 'uvu';
import { dataTest } from './helpers/shared-data.js';
import * as assert from 'uvu/assert';
import { WebSocketServer } from 'ws';
import { UserError } from '../src/errors.js';
import { ofChannel, Publisher, subscribe } from '../src/client/client.js';
import { frameCount } from '../src/dsp/features.js';
import { planWindows } from '../src/dsp/windows.js';
import { readWavFile } from '../src/ingest/wav.js';
import type { ServerMessage } from '../src/protocol/messages.js';
import { EmostreamServer } from '../src/server/server.js';
import { TestEngine } from './helpers/server-engine.js';
import { toS16 } from './helpers/server-ws.js';
import { makeWav } from './fixtures/wavgen.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WAV = fileURLToPath(new URL('../../shared/data/emodb/wav/03a01Wa.wav', import.meta.url));

function tone(seconds: number, rate = 16000): Float32Array {
  const x = new Float32Array(Math.round(seconds * rate));
  for (let i = 0; i < x.length; i++)
    x[i] = 0.3 * Math.sin((2 * Math.PI * 220 * i) / rate) * (1 + 0.5 * Math.sin((2 * Math.PI * 3 * i) / rate));
  return x;
}

function cli(
  args: string[],
  stdin?: Uint8Array,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    if (stdin) p.stdin.end(Buffer.from(stdin));
    else p.stdin.end();
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const C = suite<{ server: EmostreamServer; url: string; port: number }>('client');

C.before(async (ctx) => {
  ctx.server = new EmostreamServer({ engine: new TestEngine(), port: 0 });
  const { port } = await ctx.server.listen();
  ctx.port = port;
  ctx.url = `ws://127.0.0.1:${port}`;
});
C.after(async ({ server }) => server.close());

C('Publisher: ready, posteriors and events as Observables, stop() resolves with end', async ({ url }) => {
  for (const encoding of ['json', 'proto'] as const) {
    const pub = await Publisher.connect({ url, encoding, audio: { sampleRate: 16000, encoding: 's16le', channels: 1 }, hopMs: 500 });
    assert.is(pub.ready.model, 'test-4');
    const posteriors = lastValueFrom(pub.posteriors$.pipe(toArray()));
    const x = tone(4);
    const pcm = toS16(x);
    for (let i = 0; i < pcm.length; i += 3000) await pub.send(pcm.subarray(i, i + 3000));
    const end = await pub.stop();
    const ps = await posteriors;
    const expected = planWindows(frameCount(x.length), { hopFrames: 50 }).length;
    assert.is(end.windows, expected);
    assert.is(ps.length, expected, `${encoding}: all posteriors reached the Observable`);
    assert.equal(
      ps.map((p) => p.seq),
      [...Array(expected).keys()],
    );
  }
});

C('Publisher: a rejected start and an unreachable server are coded errors', async ({ url, server }) => {
  const bad = await Publisher.connect({ url, audio: { sampleRate: 5, encoding: 's16le', channels: 1 } }).catch((e) => e);
  assert.instance(bad, UserError);
  assert.is(bad.code, 'unsupported_format');
  const probe = new EmostreamServer({ engine: new TestEngine(), port: 0 });
  const { port } = await probe.listen();
  await probe.close(); // a port nobody listens on now
  const down = await Publisher.connect({
    url: `ws://127.0.0.1:${port}`,
    audio: { sampleRate: 16000, encoding: 's16le', channels: 1 },
  }).catch((e) => e);
  assert.instance(down, UserError);
  assert.is(down.code, 'server_unreachable');
  const badUrl = await Publisher.connect({ url: 'ftp://x', audio: { sampleRate: 16000, encoding: 's16le', channels: 1 } }).catch((e) => e);
  assert.is(badUrl.code, 'bad_url');
  assert.ok(server.sessionIds().length === 0);
});

C('subscribe: the session as an Observable that completes at end; unknown session errors', async ({ url }) => {
  const pub = await Publisher.connect({ url, session: 'obs', audio: { sampleRate: 16000, encoding: 's16le', channels: 1 }, hopMs: 500 });
  const all = lastValueFrom(subscribe('obs', { url, posteriors: false }).pipe(toArray()));
  await new Promise((r) => setTimeout(r, 50));
  const pcm = toS16(tone(3.5));
  await pub.send(pcm);
  await pub.stop();
  const msgs = await all;
  assert.is(msgs[0].type, 'ready');
  assert.is(msgs[msgs.length - 1].type, 'end');
  assert.is(msgs.filter((m) => m.type === 'posterior').length, 0, 'posteriors: false');
  const e = await firstValueFrom(subscribe('nope', { url })).catch((err) => err);
  assert.is(e.code, 'unknown_session');
});

C('subscribe reconnects with backoff after a dropped connection', async () => {
  // A stand-in server: drops the first connection, serves the second properly.
  const wss = new WebSocketServer({ port: 0, handleProtocols: () => 'emostream.v1.json' });
  await new Promise((r) => wss.once('listening', r));
  let n = 0;
  wss.on('connection', (ws) => {
    n++;
    ws.send(JSON.stringify({ type: 'ready', session: 's', model: 'm', labels: ['a'], windowMs: 3000, hopMs: 1000, backend: 'b' }));
    if (n === 1) return setTimeout(() => ws.terminate(), 20);
    ws.send(JSON.stringify({ type: 'end', windows: 0, audioMs: 0, skipped: 0 }));
    ws.close(1000);
  });
  const port = (wss.address() as { port: number }).port;
  const attempts: number[] = [];
  const msgs: ServerMessage[] = await lastValueFrom(
    subscribe('s', { url: `ws://127.0.0.1:${port}`, onReconnect: (a, ms) => attempts.push(ms) }).pipe(toArray()),
  );
  assert.equal(
    msgs.map((m) => m.type),
    ['ready', 'ready', 'end'],
  );
  assert.equal(attempts, [250]);
  await new Promise((r) => wss.close(r));
});

C('CLI subscribe prints a session until it ends', async ({ url, server }) => {
  const pub = await Publisher.connect({
    url,
    session: 'cli-sub',
    audio: { sampleRate: 16000, encoding: 's16le', channels: 1 },
    hopMs: 500,
  });
  const sub = cli(['subscribe', 'cli-sub', '--url', url, '--json']);
  const deadline = Date.now() + 15000;
  while (!/^emostream_subscribers 1$/m.test(await server.metrics.render()) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  await pub.send(toS16(tone(3.5)));
  const end = await pub.stop();
  const s = await sub;
  assert.is(s.code, 0, s.stderr);
  const lines = s.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.is(lines[0].type, 'ready');
  assert.equal(lines[lines.length - 1], end);
  assert.is(lines.filter((m) => m.type === 'posterior').length, end.windows);
});

dataTest(C, 'CLI stream (file, --fast, --json and readable lines)', [WAV], async ({ url }) => {
  const r = await cli([
    'stream',
    WAV,
    '--url',
    url,
    '--fast',
    '--json',
    '--session',
    'cli-1',
    '--hop-ms',
    '500',
    '--min-window-ms',
    '1000',
  ]);
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.is(lines[0].type, 'ready');
  assert.is(lines[0].session, 'cli-1');
  assert.is(lines[lines.length - 1].type, 'end');
  // Early windows every 500 ms from 1 s, then the tail window at the end of the file.
  const samples = (await readWavFile(WAV)).samples.length;
  const plan = planWindows(frameCount(samples), { hopFrames: 50, minFrames: 100 });
  assert.is(lines.filter((m) => m.type === 'posterior').length, plan.length, 'one posterior per planned window');

  const text = await cli(['stream', WAV, '--url', url, '--fast']);
  assert.is(text.code, 0, text.stderr);
  assert.match(text.stdout, /^session \S+ · model test-4/m);
  const only = planWindows(frameCount(samples))[0];
  const endS = ((only.endFrame * 10) / 1000).toFixed(2);
  assert.match(text.stdout, new RegExp(`^\\[\\s+0\\.00 –\\s+${endS.replace('.', '\\.')} s\\] #0 {2}angry \\d\\.\\d\\d`, 'm'));
  assert.match(text.stdout, /emotion start/);
  assert.ok(text.stdout.includes(`end: 1 window(s), ${(samples / 16000).toFixed(2)} s of audio\n`), text.stdout);
});

C('CLI stream - reads raw PCM from stdin in the declared format', async ({ url }) => {
  const x = tone(3.2, 48000);
  const stereo = new Float32Array(x.length * 2);
  x.forEach((v, i) => ((stereo[2 * i] = v), (stereo[2 * i + 1] = -v)));
  const r = await cli(
    ['stream', '-', '--url', url, '--fast', '--json', '--rate', '48000', '--channels', '2', '--encoding', 's16le', '--hop-ms', '1000'],
    toS16(stereo),
  );
  assert.is(r.code, 0, r.stderr);
  const end = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .pop();
  assert.equal(end, { type: 'end', windows: planWindows(frameCount(3.2 * 16000)).length, audioMs: 3200, skipped: 0 });
});

/** Stereo, 6 s at 16 kHz: a tone on the left at 1–2.5 s, another on the right at 3.5–5 s. */
function twoSpeakers(): Float32Array {
  const st = new Float32Array(6 * 16000 * 2);
  for (let i = 0; i < st.length / 2; i++) {
    const t = i / 16000;
    st[2 * i] = t >= 1 && t < 2.5 ? 0.3 * Math.sin((2 * Math.PI * 220 * i) / 16000) : 1e-4 * Math.sin(i);
    st[2 * i + 1] = t >= 3.5 && t < 5 ? 0.5 * Math.sin((2 * Math.PI * 660 * i) / 16000) : 1e-4 * Math.cos(i);
  }
  return st;
}

C("Publisher with channelMode separate: each channel's turns, picked out with ofChannel", async ({ url }) => {
  const pub = await Publisher.connect({ url, audio: { sampleRate: 16000, encoding: 's16le', channels: 2 }, channelMode: 'separate' });
  const turns = [0, 1].map((ch) => lastValueFrom(pub.utterances$.pipe(ofChannel(ch), toArray())));
  await pub.send(toS16(twoSpeakers()));
  await pub.stop();
  const [left, right] = await Promise.all(turns);
  assert.equal(
    left.map((u) => [u.channel, Math.round(u.startMs / 100), Math.round(u.endMs / 100)]),
    [[0, 10, 25]],
  );
  assert.equal(
    right.map((u) => [u.channel, Math.round(u.startMs / 100), Math.round(u.endMs / 100)]),
    [[1, 35, 50]],
  );
});

C('CLI stream --channel-mode separate prints both tracks of a stereo WAV', async ({ url }) => {
  const dir = mkdtempSync(join(tmpdir(), 'emostream-stereo-'));
  const wav = join(dir, 'call.wav');
  writeFileSync(wav, makeWav({ sampleRate: 16000, channels: 2, type: 'int', bits: 16, samples: twoSpeakers() }));
  const r = await cli(['stream', wav, '--url', url, '--fast', '--channel-mode', 'separate', '--hop-ms', '500']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ch0 » {2}1\.0\d – {2}2\.[45]\d s {2}turn/m);
  assert.match(r.stdout, /^ch1 {3}» {2}3\.[45]\d – {2}[45]\.\d\d s {2}turn/m);
  assert.match(r.stdout, /^ch0 \[ {2}0\.00 –/m);
  assert.match(r.stdout, /^ch1 {3}\[ {2}0\.00 –/m);
  assert.match(r.stdout, /^ch1 {3}\* +\d+\.\d\d s {2}emotion start/m);
  assert.match(r.stdout, /^end: /m);
  const mixed = await cli(['stream', wav, '--url', url, '--fast', '--hop-ms', '500']);
  assert.is(mixed.code, 0, mixed.stderr);
  assert.not.match(mixed.stdout, /^ch\d/m, 'one track, printed as before');
  const bad = await cli(['stream', wav, '--url', url, '--channel-mode', 'stereo']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--channel-mode must be mix or separate/);
});

C('CLI mic: a (fake) recorder on PATH is streamed; the session ends when it stops', async ({ url }) => {
  const bin = mkdtempSync(join(tmpdir(), 'emostream-fake-rec-'));
  // 3.5 s of a 220 Hz tone at 16 kHz s16le, in odd-sized writes, then exit 0.
  writeFileSync(
    join(bin, 'rec'),
    `#!${process.execPath}
const n = 56000, b = Buffer.alloc(n * 2);
for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(9000 * Math.sin(2 * Math.PI * 220 * i / 16000)), i * 2);
for (let at = 0; at < b.length; at += 3331) process.stdout.write(b.subarray(at, at + 3331));
`,
  );
  chmodSync(join(bin, 'rec'), 0o755);
  const r = await cli(['mic', '--url', url, '--json', '--hop-ms', '500'], undefined, {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
  });
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.is(lines[0].type, 'ready');
  assert.equal(lines[lines.length - 1], {
    type: 'end',
    windows: planWindows(frameCount(56000), { hopFrames: 50 }).length,
    audioMs: 3500,
    skipped: 0,
  });
});

C('CLI stream: a server shutting down mid-stream ends it cleanly, with a clear message', async () => {
  const server = new EmostreamServer({ engine: new TestEngine(), port: 0 });
  const { port } = await server.listen();
  const run = cli(['stream', '-', '--url', `ws://127.0.0.1:${port}`, '--rate', '16000', '--encoding', 's16le'], toS16(tone(6)));
  const deadline = Date.now() + 15000;
  while (server.sessionIds().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 300));
  await server.close();
  const r = await run;
  assert.is(r.code, 1);
  assert.match(r.stdout, /^end: 0 window\(s\)/m, 'the end message was printed');
  assert.match(r.stderr, 'the server ended the session before all audio was sent');
  assert.not.match(r.stderr, /\n\s+at /);
});

C('CLI errors: server not running, bad usage — coded, no stack trace', async ({ port }) => {
  const probe = new EmostreamServer({ engine: new TestEngine(), port: 0 });
  const free = (await probe.listen()).port;
  await probe.close();
  const r = await cli(['stream', '-', '--url', `ws://127.0.0.1:${free}`], new Uint8Array(0));
  assert.is(r.code, 1);
  assert.match(r.stderr, 'emostream: error [server_unreachable]: cannot connect to ws://127.0.0.1:');
  assert.not.match(r.stderr, /\n\s+at /);
  const u = await cli(['stream']);
  assert.is(u.code, 2);
  assert.match(u.stderr, '[usage]');
  const serve = await cli(['serve', '--port', String(port), '--log-level', 'silent', '--engine', 'tfjs']);
  assert.is(serve.code, 1);
  assert.match(serve.stderr, 'emostream: error [port_in_use]');
});

C.run();
