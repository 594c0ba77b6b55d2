// End to end against a real server running the bundled models/basic-4 through loadEngine:
// window counts and stream timestamps for a resampled, re-chunked Emo-DB file in both
// encodings, flush segments, and identical results for two subscribers.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import { dataTest } from './helpers/shared-data.js';
import * as assert from 'uvu/assert';
import { frameCount } from '../src/dsp/features.js';
import { resample } from '../src/dsp/resample.js';
import { planWindows } from '../src/dsp/windows.js';
import { readWavFile } from '../src/ingest/wav.js';
import type { Engine } from '../src/inference/engine.js';
import { loadEngine } from '../src/inference/load-engine.js';
import type { PosteriorMsg } from '../src/protocol/messages.js';
import { EmostreamServer } from '../src/server/server.js';
import { connect, sendChunks, toF32, toS16 } from './helpers/server-ws.js';

const WAV = fileURLToPath(new URL('../../shared/data/emodb/wav/03a01Wa.wav', import.meta.url));
const MODEL = fileURLToPath(new URL('../models/basic-4', import.meta.url));
const haveData = existsSync(WAV);

const E2E = suite<{ engine: Engine; server: EmostreamServer; base: string }>('server e2e (basic-4)');

E2E.before(async (ctx) => {
  if (!haveData) return;
  ctx.engine = await loadEngine(MODEL);
  ctx.server = new EmostreamServer({ engine: ctx.engine, port: 0 });
  const { port } = await ctx.server.listen();
  ctx.base = `ws://127.0.0.1:${port}`;
});

E2E.after(async (ctx) => {
  await ctx.server?.close();
  await ctx.engine?.dispose();
});

function checkPosteriors(
  ps: PosteriorMsg[],
  expected: { startFrame: number; endFrame: number }[],
  labels: string[],
  offsetsMs: number[] = [],
) {
  assert.is(ps.length, expected.length, 'one posterior per planned window');
  ps.forEach((p, i) => {
    assert.is(p.seq, i, 'in order, numbered from 0');
    const off = offsetsMs[i] ?? 0;
    assert.is(p.startMs, off + expected[i].startFrame * 10, `window ${i} start`);
    assert.is(p.endMs, off + expected[i].endFrame * 10, `window ${i} end`);
    assert.equal(Object.keys(p.probs), labels);
    const sum = Object.values(p.probs).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-4, `probabilities sum to 1 (${sum})`);
    assert.ok(p.speech >= 0 && p.speech <= 1);
    assert.ok(p.latencyMs >= 0 && p.computeMs > 0 && p.batchSize >= 1);
  });
}

dataTest(E2E, '48 kHz s16le stereo in 3331-byte frames (JSON): one posterior per planned window, times add up', [WAV], async ({ base }) => {
  const wav = await readWavFile(WAV);
  assert.is(wav.format.sampleRate, 16000);
  const up = resample(wav.samples, 16000, 48000);
  const stereo = new Float32Array(up.length * 2);
  for (let i = 0; i < up.length; i++) {
    stereo[2 * i] = up[i] * 0.9;
    stereo[2 * i + 1] = up[i] * 0.7;
  }
  const c = await connect(`${base}/v1/stream`, 'json');
  c.send({
    type: 'start',
    session: 'e2e-json',
    audio: { sampleRate: 48000, encoding: 's16le', channels: 2 },
    hopMs: 100,
    minWindowMs: 500,
  });
  const ready = await c.next('ready');
  assert.is(ready.session, 'e2e-json');
  assert.is(ready.model, 'basic-4');
  assert.is(ready.windowMs, 3000);
  assert.is(ready.hopMs, 100);
  sendChunks(c, toS16(stereo), 3331);
  c.send({ type: 'stop' });
  const end = await c.next('end');
  const closed = await c.closed;
  assert.is(closed.code, 1000);
  // The server resamples 48 kHz back to exactly as many 16 kHz samples as the file has.
  const expected = planWindows(frameCount(wav.samples.length), { hopFrames: 10, minFrames: 50 });
  assert.ok(expected.length > 10, `a useful number of windows (${expected.length})`);
  checkPosteriors(c.of('posterior'), expected, ready.labels);
  assert.is(end.windows, expected.length);
  assert.is(end.skipped, 0);
  // `end` rounds audioMs to the microsecond (0.001 ms).
  assert.ok(Math.abs(end.audioMs - (wav.samples.length / 16000) * 1000) < 1e-3, `audioMs ${end.audioMs}`);
  assert.equal(c.of('error'), [], 'no errors');
  // Voice activity: the file is speech, so speech turns on and the emotion starts.
  assert.ok(c.of('speech').some((s) => s.active));
  assert.is(c.of('emotion')[0]?.kind, 'start');
});

dataTest(E2E, 'protobuf, with a flush in the middle: segments continue in stream time', [WAV], async ({ base }) => {
  const wav = await readWavFile(WAV);
  const c = await connect(`${base}/v1/stream`, 'proto');
  c.send({ type: 'start', audio: { sampleRate: 16000, encoding: 'f32le', channels: 1 }, hopMs: 500 });
  const ready = await c.next('ready');
  assert.match(ready.session, /^[A-Za-z0-9_.-]+$/);
  const cut = 12345; // not on a frame boundary
  const a = wav.samples.subarray(0, cut);
  const b = wav.samples.subarray(cut);
  sendChunks(c, toF32(a), 4000);
  c.send({ type: 'flush' });
  sendChunks(c, toF32(b), 4000);
  c.send({ type: 'stop' });
  const end = await c.next('end');
  const first = planWindows(frameCount(a.length), { hopFrames: 50 });
  const second = planWindows(frameCount(b.length), { hopFrames: 50 });
  const offset = Math.ceil(cut / 160) * 10; // the flushed segment's last partial 10 ms frame counts whole
  checkPosteriors(c.of('posterior'), [...first, ...second], ready.labels, [...first.map(() => 0), ...second.map(() => offset)]);
  assert.is(end.windows, first.length + second.length);
});

dataTest(E2E, 'two subscribers receive identical messages; a late one first gets the current state', [WAV], async ({ base }) => {
  const wav = await readWavFile(WAV);
  const pub = await connect(`${base}/v1/stream`, 'json');
  pub.send({ type: 'start', session: 'twins', audio: { sampleRate: 16000, encoding: 's16le', channels: 1 }, hopMs: 200, minWindowMs: 500 });
  await pub.next('ready');
  const s1 = await connect(`${base}/v1/subscribe/twins`, 'json');
  const s2 = await connect(`${base}/v1/subscribe/twins`, 'proto');
  await Promise.all([s1.next('ready'), s2.next('ready')]);
  const pcm = toS16(wav.samples);
  const half = Math.floor(pcm.length / 4) * 2;
  sendChunks(pub, pcm.subarray(0, half), 2000);
  const firstPosterior = await s1.next('posterior');
  const late = await connect(`${base}/v1/subscribe/twins`, 'json');
  await late.next('ready');
  sendChunks(pub, pcm.subarray(half), 2000);
  pub.send({ type: 'stop' });
  await Promise.all([s1.closed, s2.closed, late.closed, pub.closed]);
  assert.ok(s1.of('posterior').length > 1);
  assert.equal(s1.messages, s2.messages, 'JSON and protobuf subscribers got the same messages');
  const fromPub = pub.messages.filter((m) => m.type !== 'ready');
  assert.equal(s1.messages.slice(1), fromPub, 'subscribers see what the publisher sees');
  // The late subscriber's first messages are the state at the time it joined.
  assert.is(late.messages[0].type, 'ready');
  const replayedPosterior = late.messages.find((m) => m.type === 'posterior') as PosteriorMsg;
  assert.ok(replayedPosterior.seq >= firstPosterior.seq);
  assert.is(late.of('end').length, 1);
});

E2E.run();
