// `emostream stream` as a user runs it (bin/emostream.js) against a real server with the
// deterministic TestEngine: what comes in on stdin is recognised (a WAV or FLAC by its header,
// else raw PCM as declared, with a warning when it looks wrong), and numeric flags are checked.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EmostreamServer } from '../src/server/server.js';
import { checkPcm } from '../src/ingest/plausible.js';
import { makeWav } from './fixtures/wavgen.js';
import { TestEngine } from './helpers/server-engine.js';

const bin = fileURLToPath(new URL('../bin/emostream.js', import.meta.url));

function cli(args: string[], stdin?: Uint8Array): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, 'stream', ...args], { env: { ...process.env, EMOSTREAM_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    child.stdin.on('error', () => {}); // a child that refuses its flags does not read stdin
    child.stdin.end(stdin ?? new Uint8Array(0));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The `end` message of a --json run: how much audio the server received. */
function audioMs(stdout: string): number {
  const end = stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .find((m) => m.type === 'end');
  assert.ok(end, `no end message in ${stdout}`);
  return end.audioMs;
}

const sine = (n: number, channels: number, rate: number) =>
  Array.from({ length: n * channels }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 220 * Math.floor(i / channels)) / rate));

let server: EmostreamServer;
let url = '';
test.before(async () => {
  server = new EmostreamServer({ engine: new TestEngine(), port: 0 });
  url = `ws://127.0.0.1:${(await server.listen()).port}`;
});
test.after(async () => {
  await server.close();
});

test('a WAV on stdin is read as a WAV (1 s of 48 kHz stereo float, not 12 s of "s16le 16 kHz mono")', async () => {
  const wav = makeWav({ sampleRate: 48000, channels: 2, type: 'float', bits: 32, samples: sine(48000, 2, 48000) });
  const r = await cli(['-', '--fast', '--json', '--url', url], wav);
  assert.is(r.code, 0, r.stderr);
  assert.ok(Math.abs(audioMs(r.stdout) - 1000) <= 10, `audioMs ${audioMs(r.stdout)}`);
  assert.not.match(r.stderr, /raw PCM/);
  // Flags that describe raw PCM are ignored, with a word saying so.
  const flagged = await cli(['-', '--fast', '--json', '--url', url, '--rate', '8000'], wav);
  assert.is(flagged.code, 0, flagged.stderr);
  assert.match(flagged.stderr, /stdin is WAV .*--rate, --channels and --encoding are ignored/);
});

test('FLAC on stdin is decoded; raw PCM states its assumed format, and warns when it looks like noise', async () => {
  const flac = readFileSync(fileURLToPath(new URL('./fixtures/audio/tone.flac', import.meta.url)));
  const f = await cli(['-', '--fast', '--json', '--url', url], flac);
  assert.is(f.code, 0, f.stderr);
  assert.ok(Math.abs(audioMs(f.stdout) - 400) <= 10, `audioMs ${audioMs(f.stdout)}`);

  const s16 = Buffer.alloc(16000 * 2);
  sine(16000, 1, 16000).forEach((v, i) => s16.writeInt16LE(Math.round(v * 32767), i * 2));
  const ok = await cli(['-', '--fast', '--json', '--url', url], s16);
  assert.is(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /raw PCM, assumed s16le 16000 Hz 1 channel/);
  assert.not.match(ok.stderr, /warning/);
  assert.ok(Math.abs(audioMs(ok.stdout) - 1000) <= 10);

  // The same tone as f32le bytes, declared (by default) as s16le: garbage, and we say so.
  const f32 = Buffer.from(Float32Array.from(sine(16000, 1, 16000)).buffer);
  const bad = await cli(['-', '--fast', '--json', '--url', url], f32);
  assert.is(bad.code, 0, bad.stderr);
  assert.match(bad.stderr, /warning: stdin as s16le 16000 Hz 1 channel\(s\): .*(noise|clipped|DC)/);
});

test('numeric flags are checked before anything is read: a coded usage error naming the flag', async () => {
  for (const [flag, value] of [
    ['--hop-ms', 'abc'],
    ['--hop-ms', '255'],
    ['--min-window-ms', '1e9'],
    ['--rate', '44.1k'],
    ['--channels', '0'],
    ['--chunk-ms', '-5'],
    ['--chunk-ms', ''],
  ]) {
    const r = await cli(['-', '--url', 'ws://127.0.0.1:9', `${flag}=${value}`]);
    assert.is(r.code, 2, `${flag} ${value}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`error \\[bad_argument\\]: ${flag} must be .*got '${value}'`));
    assert.not.match(r.stderr, /\n\s+at /);
  }
});

test('checkPcm: audio passes; wrong encoding, byte order, silence and DC are named', () => {
  const tone = Float32Array.from(sine(16000, 1, 16000));
  assert.equal(checkPcm(tone, 1).warnings, []);
  // s16le bytes of the tone read as big-endian: the low byte becomes the high byte.
  const swapped = tone.map((v) => {
    const s = Math.round(v * 32767) & 0xffff;
    return (((((s & 0xff) << 8) | (s >> 8)) << 16) >> 16) / 32768;
  });
  assert.match(checkPcm(swapped, 1).warnings.join(' '), /noise/);
  assert.match(checkPcm(new Float32Array(16000), 1).warnings.join(' '), /silent/);
  assert.match(
    checkPcm(
      tone.map((v) => v * 0.3 + 0.5),
      1,
    ).warnings.join(' '),
    /DC offset/,
  );
  assert.match(checkPcm(Float32Array.from([2, -3, 0.1, 0.2]), 1).warnings.join(' '), /outside \[-1, 1\]/);
});

test.run();
