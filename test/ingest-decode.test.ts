// Every supported file format through decode.ts, against small committed fixtures (synthetic
// tones, test/fixtures/audio/README.md): lossless formats sample for sample, lossy ones by
// length, level and pitch. Also the WAV stream decoder against the whole-buffer one, and the
// coded errors for unknown input and a missing ffmpeg.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UserError } from '../src/errors.js';
import { collect, decodeAudio, mpegChannels, readAudioFile } from '../src/ingest/decode.js';
import { G711_TABLES } from '../src/ingest/g711.js';
import { decodeWav, WavStreamDecoder } from '../src/ingest/wav.js';
import { sniffContainer } from '../src/ingest/sniff.js';
import { makeWav, rng } from './fixtures/wavgen.js';

const fx = (name: string) => fileURLToPath(new URL(`./fixtures/audio/${name}`, import.meta.url));
const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;

/** Share of a channel's energy at `hz` (Goertzel), so a lossy decode can be checked for pitch. */
function toneShare(x: Float32Array, channels: number, ch: number, rate: number, hz: number): number {
  const n = Math.floor(x.length / channels);
  const w = (2 * Math.PI * hz) / rate;
  let re = 0;
  let im = 0;
  let energy = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i * channels + ch];
    re += v * Math.cos(w * i);
    im -= v * Math.sin(w * i);
    energy += v * v;
  }
  return (2 * (re * re + im * im)) / n / Math.max(energy, 1e-12);
}

function rms(x: Float32Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / x.length);
}

async function expectCode(p: Promise<unknown>, code: string, mentions: string[] = []): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, UserError, String(err));
    assert.is((err as UserError).code, code, (err as Error).message);
    for (const m of mentions) assert.ok((err as Error).message.includes(m), `"${(err as Error).message}" should mention "${m}"`);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

test('FLAC decodes sample for sample to the WAV it was made from', async () => {
  const wav = decodeWav(readFileSync(fx('tone.wav')), 'tone.wav');
  const flac = await readAudioFile(fx('tone.flac'));
  assert.equal(flac.format, { sampleRate: 16000, channels: 1 });
  assert.is(flac.samples.length, wav.samples.length);
  for (let i = 0; i < wav.samples.length; i++)
    if (flac.samples[i] !== wav.samples[i]) assert.unreachable(`sample ${i}: ${flac.samples[i]} vs ${wav.samples[i]}`);
});

for (const [file, rate, minFrames, maxFrames] of [
  ['tone.mp3', 16000, 6400, 7600],
  ['tone.opus', 48000, 19200, 20200],
  ['tone.ogg', 16000, 6400, 6800],
] as const) {
  test(`${file}: the 0.4 s 440 Hz tone at its rate, level and pitch`, async () => {
    const a = await readAudioFile(fx(file));
    assert.equal(a.format, { sampleRate: rate, channels: 1 });
    assert.ok(a.samples.length >= minFrames && a.samples.length <= maxFrames, `${a.samples.length} frames`);
    assert.ok(Math.abs(rms(a.samples) - 0.5 / Math.SQRT2) < 0.05, `rms ${rms(a.samples)}`);
    assert.ok(toneShare(a.samples, 1, 0, rate, 440) > 0.9, `440 Hz share ${toneShare(a.samples, 1, 0, rate, 440)}`);
  });
}

test('a stereo MP3 keeps its channels apart (440 Hz left, 880 Hz right); a mono one is mono', async () => {
  const a = await readAudioFile(fx('stereo-440-880.mp3'));
  assert.equal(a.format, { sampleRate: 22050, channels: 2 });
  assert.ok(toneShare(a.samples, 2, 0, 22050, 440) > 0.9);
  assert.ok(toneShare(a.samples, 2, 1, 22050, 880) > 0.9);
  assert.ok(toneShare(a.samples, 2, 1, 22050, 440) < 0.05);
  assert.is(mpegChannels(readFileSync(fx('stereo-440-880.mp3'))), 2);
  assert.is(mpegChannels(readFileSync(fx('tone.mp3'))), 1);
  assert.is(mpegChannels(new Uint8Array([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 1, 0])), undefined, 'ID3 tag not yet past');
});

test('μ-law and A-law WAV decode through the G.711 tables', async () => {
  for (const [file, law] of [
    ['tone-8k-ulaw.wav', 'mulaw'],
    ['tone-8k-alaw.wav', 'alaw'],
  ] as const) {
    const bytes = readFileSync(fx(file));
    const a = await readAudioFile(fx(file));
    assert.equal(a.format, { sampleRate: 8000, channels: 1 });
    assert.is(a.samples.length, 3200);
    // The samples are the table values of the data chunk's bytes (the last 3200 of the file).
    const data = bytes.subarray(bytes.length - 3200);
    for (let i = 0; i < 3200; i++) if (a.samples[i] !== G711_TABLES[law][data[i]]) assert.unreachable(`${file} sample ${i}`);
    assert.ok(toneShare(a.samples, 1, 0, 8000, 440) > 0.95);
  }
});

test('M4A/AAC: decoded through ffmpeg when installed; a coded error naming it when not', async () => {
  const saved = process.env.EMOSTREAM_FFMPEG;
  process.env.EMOSTREAM_FFMPEG = '/nonexistent/ffmpeg';
  try {
    await expectCode(readAudioFile(fx('tone.m4a')), 'decoder_missing', ['MP4/M4A', 'ffmpeg', 'apt-get install ffmpeg']);
    // from a pipe too (stdin)
    await expectCode(collect(decodeAudio([readFileSync(fx('tone.m4a'))], 'stdin'), 'stdin'), 'decoder_missing', ['stdin']);
  } finally {
    if (saved === undefined) delete process.env.EMOSTREAM_FFMPEG;
    else process.env.EMOSTREAM_FFMPEG = saved;
  }
  if (!hasFfmpeg) {
    assert.ok(process.env.CI !== 'true', 'CI installs ffmpeg (.ci/run)');
    console.warn('note: ffmpeg not installed; the M4A decode itself is not checked here');
    return;
  }
  const a = await readAudioFile(fx('tone.m4a'));
  assert.equal(a.format, { sampleRate: 16000, channels: 1 });
  assert.ok(a.samples.length >= 6400 && a.samples.length <= 8192, `${a.samples.length}`);
  assert.ok(toneShare(a.samples, 1, 0, 16000, 440) > 0.8); // AAC pads the end with silence
});

test('the container is recognised from the bytes, not the name; unknown input is a coded error', async () => {
  for (const [f, kind] of [
    ['tone.flac', 'flac'],
    ['tone.mp3', 'mp3'],
    ['tone.opus', 'ogg-opus'],
    ['tone.ogg', 'ogg-vorbis'],
    ['tone.m4a', 'mp4'],
    ['tone.wav', 'wav'],
  ])
    assert.is(sniffContainer(readFileSync(fx(f))), kind, f);
  const asBytes = (s: string) => [new TextEncoder().encode(s)];
  await expectCode(collect(decodeAudio(asBytes('{"not": "audio"}'), 'x.flac'), 'x.flac'), 'audio_unknown_format', [
    'x.flac',
    "'{\"no'",
    'FLAC',
  ]);
  await expectCode(collect(decodeAudio([], 'empty.mp3'), 'empty.mp3'), 'audio_unknown_format', ['empty input']);
  await expectCode(readAudioFile('/nonexistent/a.flac'), 'file_not_found');
  // A FLAC header followed by junk decodes to nothing: an error, not an empty success.
  const bad = new Uint8Array(4000);
  bad.set(readFileSync(fx('tone.flac')).subarray(0, 100));
  for (let i = 100; i < bad.length; i++) bad[i] = (i * 7919) & 0xff;
  await expectCode(collect(decodeAudio([bad], 'bad.flac'), 'bad.flac'), 'audio_decode_failed', ['bad.flac']);
});

test('WAV in pieces of any size decodes exactly as the whole buffer', async () => {
  const rand = rng(3);
  const values = Array.from({ length: 3 * 997 }, () => rand() * 1.6 - 0.8);
  const bytes = makeWav({
    sampleRate: 44100,
    channels: 3,
    type: 'int',
    bits: 24,
    samples: values,
    extraChunks: [['LIST', new Uint8Array(301)]],
  });
  const whole = decodeWav(bytes, 'w.wav');
  for (const piece of [1, 7, 64, 1000, bytes.length]) {
    const pieces: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; at += piece) pieces.push(bytes.subarray(at, at + piece));
    const got = await collect(decodeAudio(pieces, 'w.wav'), 'w.wav');
    assert.equal(got.format, whole.format);
    assert.equal(Array.from(got.samples), Array.from(whole.samples), `pieces of ${piece}`);
  }
  // Cut short: the stream decoder reports it at the end, with the same code as the whole-buffer one.
  const s = new WavStreamDecoder('cut.wav');
  s.push(bytes.subarray(0, bytes.length - 10));
  try {
    s.end();
    assert.unreachable();
  } catch (err) {
    assert.is((err as UserError).code, 'wav_truncated');
  }
  // A pipe-written WAV (size 0xffffffff) is read to the end.
  const piped = bytes.slice();
  const dataAt = piped.length - values.length * 3 - 1 - 8; // 8973 data bytes + a pad byte
  assert.is(String.fromCharCode(...piped.subarray(dataAt, dataAt + 4)), 'data');
  new DataView(piped.buffer).setUint32(dataAt + 4, 0xffffffff, true);
  assert.is((await collect(decodeAudio([piped], 'p.wav'), 'p.wav')).samples.length, values.length);
});

test.run();
