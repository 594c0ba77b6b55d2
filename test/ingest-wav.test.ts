import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UserError } from '../src/errors.js';
import { loadAudio16k } from '../src/dsp/load.js';
import { decodeWav, readWavFile } from '../src/ingest/wav.js';
import { makeWav, quantize, rng, type WavSpec } from './fixtures/wavgen.js';
import { dataTest, sharedPath } from './helpers/shared-data.js';

const rand = rng(7);
const values = Array.from({ length: 64 }, () => rand() * 1.8 - 0.9);
values.push(-1, 0.999); // extremes

function expectCode(fn: () => unknown, code: string, mentions: string[] = []): UserError {
  try {
    fn();
  } catch (err) {
    assert.instance(err, UserError);
    const e = err as UserError;
    assert.is(e.code, code, e.message);
    for (const m of mentions) assert.ok(e.message.includes(m), `message "${e.message}" should mention "${m}"`);
    return e;
  }
  assert.unreachable(`expected error ${code}`);
  throw new Error('unreachable');
}

const variants: [string, Partial<WavSpec>, (v: number) => number][] = [
  ['8-bit unsigned', { type: 'int', bits: 8 }, (v) => quantize(v, 8) / 128],
  ['16-bit', { type: 'int', bits: 16 }, (v) => quantize(v, 16) / 32768],
  ['24-bit', { type: 'int', bits: 24 }, (v) => quantize(v, 24) / 8388608],
  ['32-bit int', { type: 'int', bits: 32 }, (v) => quantize(v, 32) / 2147483648],
  ['32-bit float', { type: 'float', bits: 32 }, (v) => Math.fround(v)],
  ['64-bit float', { type: 'float', bits: 64 }, (v) => v],
  ['extensible 24-bit PCM', { type: 'int', bits: 24, extensible: true }, (v) => quantize(v, 24) / 8388608],
  ['extensible float', { type: 'float', bits: 32, extensible: true }, (v) => Math.fround(v)],
];

for (const [label, spec, expected] of variants) {
  for (const channels of [1, 2]) {
    test(`decodes ${label}, ${channels} channel(s)`, () => {
      const buf = makeWav({ sampleRate: 44100, channels, samples: values, ...spec } as WavSpec);
      const { format, samples } = decodeWav(buf, 'x.wav');
      assert.equal(format, { sampleRate: 44100, channels });
      assert.is(samples.length, values.length);
      for (let i = 0; i < values.length; i++) {
        assert.ok(
          Math.abs(samples[i] - Math.fround(expected(values[i]))) < 1e-7,
          `${label} sample ${i}: ${samples[i]} vs ${expected(values[i])}`,
        );
      }
    });
  }
}

test('skips LIST/fact/FLLR chunks, odd-sized chunks (padding byte) and chunks before fmt', () => {
  const odd = new Uint8Array(5).fill(0x41);
  const buf = makeWav({
    sampleRate: 22050,
    channels: 1,
    type: 'int',
    bits: 16,
    samples: values,
    leadingChunks: [['JUNK', new Uint8Array(28)]],
    extraChunks: [
      ['LIST', new TextEncoder().encode('INFOISFT\x0e\x00\x00\x00Lavf58.76.100\x00')],
      ['fact', new Uint8Array(4)],
      ['FLLR', odd],
    ],
  });
  const { format, samples } = decodeWav(buf, 'x.wav');
  assert.is(format.sampleRate, 22050);
  assert.is(samples.length, values.length);
  assert.ok(Math.abs(samples[3] - quantize(values[3], 16) / 32768) < 1e-9);
});

test('a streamed file with data size 0xFFFFFFFF reads to the end of the file', () => {
  const buf = makeWav({ sampleRate: 16000, channels: 1, type: 'int', bits: 16, samples: values });
  const dataSizeAt = buf.length - values.length * 2 - 4;
  new DataView(buf.buffer).setUint32(dataSizeAt, 0xffffffff, true);
  assert.is(decodeWav(buf, 'x.wav').samples.length, values.length);
});

const good = () => makeWav({ sampleRate: 16000, channels: 2, type: 'int', bits: 16, samples: values });

test('error: not a RIFF file names the file', () => {
  expectCode(() => decodeWav(new TextEncoder().encode('ID3\x04 this is an mp3, honest'), 'song.mp3'), 'wav_not_riff', [
    'song.mp3',
    'MP3',
    'ffmpeg',
  ]);
  expectCode(() => decodeWav(new TextEncoder().encode('OggS\x00\x02 and more bytes'), 'a.opus'), 'wav_not_riff', ['Ogg']);
  expectCode(() => decodeWav(new TextEncoder().encode('{"not": "audio at all"}'), 'x.json'), 'wav_not_riff', ["'{\"no'"]);
  expectCode(() => decodeWav(new Uint8Array(0), 'empty.wav'), 'wav_not_riff', ['empty.wav', 'empty']);
});

test('error: RIFF but not WAVE', () => {
  const b = good();
  b.set([0x41, 0x56, 0x49, 0x20], 8); // 'AVI '
  expectCode(() => decodeWav(b, 'clip.avi'), 'wav_not_riff', ['clip.avi', 'AVI']);
});

test('error: truncated data chunk, truncated header', () => {
  const b = good();
  expectCode(() => decodeWav(b.subarray(0, b.length - 10), 'cut.wav'), 'wav_truncated', ['cut.wav', 'truncated']);
  expectCode(() => decodeWav(b.subarray(0, 30), 'cut.wav'), 'wav_truncated', ['cut.wav']);
  expectCode(() => decodeWav(b.subarray(0, 8), 'cut.wav'), 'wav_truncated', ['cut.wav']);
  // Declared data size not a whole number of frames (stereo 16-bit = 4 bytes).
  const odd = good();
  const dataSizeAt = odd.length - values.length * 2 - 4;
  new DataView(odd.buffer).setUint32(dataSizeAt, values.length * 2 - 2, true);
  expectCode(() => decodeWav(odd, 'odd.wav'), 'wav_truncated', ['odd.wav', 'frame']);
});

test('error: unsupported encodings say which', () => {
  const adpcm = good();
  new DataView(adpcm.buffer).setUint16(20, 2, true); // MS ADPCM format tag
  expectCode(() => decodeWav(adpcm, 'a.wav'), 'wav_unsupported_format', ['a.wav', 'ADPCM']);
  const ulaw16 = good(); // μ-law is 8 bits per sample; 16-bit "μ-law" is not a thing
  new DataView(ulaw16.buffer).setUint16(20, 7, true);
  expectCode(() => decodeWav(ulaw16, 'u.wav'), 'wav_unsupported_format', ['16-bit G.711']);
  const f16 = makeWav({ sampleRate: 16000, channels: 1, type: 'float', bits: 32, samples: values });
  const v = new DataView(f16.buffer);
  v.setUint16(34, 16, true); // 16-bit float
  v.setUint16(32, 2, true);
  expectCode(() => decodeWav(f16, 'h.wav'), 'wav_unsupported_format', ['16-bit float']);
  const rifx = good();
  rifx.set([0x52, 0x49, 0x46, 0x58], 0);
  expectCode(() => decodeWav(rifx, 'be.wav'), 'wav_unsupported_format', ['RIFX']);
});

test('error: missing data chunk, zero channels', () => {
  const b = good();
  const noData = b.slice(0, 36); // RIFF header + fmt chunk only
  new DataView(noData.buffer).setUint32(4, 28, true);
  expectCode(() => decodeWav(noData, 'n.wav'), 'wav_no_data', ['n.wav', 'data']);
  const zero = good();
  new DataView(zero.buffer).setUint16(22, 0, true);
  expectCode(() => decodeWav(zero, 'z.wav'), 'wav_bad_header', ['0 channels']);
});

test('readWavFile: missing file and directory give coded errors', async () => {
  for (const [path, code] of [
    ['/nonexistent/dir/x.wav', 'file_not_found'],
    [tmpdir(), 'file_unreadable'],
  ]) {
    try {
      await readWavFile(path);
      assert.unreachable();
    } catch (err) {
      assert.instance(err, UserError);
      assert.is((err as UserError).code, code);
      assert.ok((err as UserError).message.includes(path));
    }
  }
});

test('loadAudio16k downmixes stereo and resamples to 16 kHz', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'emostream-wav-'));
  const n = 4800; // 0.1 s at 48 kHz
  const st = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    st[2 * i] = 0.5;
    st[2 * i + 1] = 0.1; // mean 0.3
  }
  const path = join(dir, 's.wav');
  writeFileSync(path, makeWav({ sampleRate: 48000, channels: 2, type: 'float', bits: 32, samples: st }));
  const mono = await loadAudio16k(path);
  assert.is(mono.length, 1600);
  assert.ok(Math.abs(mono[800] - 0.3) < 1e-6, `${mono[800]}`); // DC through the resampler, mid-signal
});

const EMO = sharedPath('emodb/wav/03a01Fa.wav');
const RAV = sharedPath('ravdess/wav/Actor_01/03-01-01-01-01-01-01.wav');
dataTest(test, 'real files: Emo-DB and RAVDESS decode as 16 kHz mono 16-bit', [EMO, RAV], async () => {
  for (const path of [EMO, RAV]) {
    const bytes = await readFile(path);
    const { format, samples } = await readWavFile(path);
    assert.equal(format, { sampleRate: 16000, channels: 1 });
    // Cross-check a sample against the raw bytes at the data chunk's end (last sample).
    const last = new DataView(bytes.buffer, bytes.byteOffset).getInt16(bytes.length - 2, true) / 32768;
    const pad = samples.length; // non-empty
    assert.ok(pad > 16000);
    assert.ok(Math.abs(samples[samples.length - 1] - last) < 1e-9 || bytes.length % 2 === 1);
    let peak = 0;
    for (const s of samples) peak = Math.max(peak, Math.abs(s));
    assert.ok(peak > 0.01 && peak <= 1, `peak ${peak}`);
  }
});

test.run();
