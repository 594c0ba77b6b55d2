// `emostream features` end to end, through bin/emostream.js as a user runs it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { computeFeatures } from '../src/dsp/features.js';
import { resample } from '../src/dsp/resample.js';
import { downmix } from '../src/dsp/convert.js';
import { decodeWav } from '../src/ingest/wav.js';
import { makeWav, rng } from './fixtures/wavgen.js';

const bin = fileURLToPath(new URL('../bin/emostream.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'emostream-cli-'));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, 'features', ...args], { encoding: 'utf8', env: { ...process.env, EMOSTREAM_DEBUG: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// A 0.8 s 44.1 kHz stereo 16-bit file: exercises downmix + resampling in the CLI path.
const rand = rng(8);
const st = Array.from({ length: 2 * 35280 }, (_, i) => 0.3 * Math.sin(i * 0.01) + 0.1 * (rand() - 0.5));
const wavBytes = makeWav({ sampleRate: 44100, channels: 2, type: 'int', bits: 16, samples: st });
const wav = join(dir, 'in.wav');
writeFileSync(wav, wavBytes);

test('--npy writes a v1.0 .npy of shape (T, 40, 3) <f4 equal to the library features; --json agrees', () => {
  const out = join(dir, 'f.npy');
  const r = cli(wav, '--npy', out, '--json');
  assert.is(r.code, 0, r.stderr);
  const buf = readFileSync(out);
  assert.equal(Array.from(buf.subarray(0, 8)), [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const hlen = buf.readUInt16LE(8);
  assert.is((10 + hlen) % 64, 0, 'header padded to a multiple of 64');
  const header = buf.subarray(10, 10 + hlen).toString('latin1');
  assert.ok(header.endsWith('\n'));
  const decoded = decodeWav(wavBytes, wav);
  const want = computeFeatures(resample(downmix(decoded.samples, 2), 44100, 16000));
  assert.is(want.frames, 78); // 0.8 s → 12800 samples → (12800 − 400)/160 + 1
  assert.match(header, new RegExp(`'descr': '<f4', 'fortran_order': False, 'shape': \\(${want.frames}, 40, 3\\)`));
  const body = buf.subarray(10 + hlen);
  assert.is(body.length, want.data.length * 4);
  for (let i = 0; i < want.data.length; i++) if (body.readFloatLE(i * 4) !== want.data[i]) assert.unreachable(`value ${i}`);
  const json = JSON.parse(r.stdout) as { shape: number[]; data: number[] };
  assert.equal(json.shape, [want.frames, 40, 3]);
  assert.is(json.data.length, want.data.length);
  assert.is(json.data[123], want.data[123]);
});

// Optional tool: without python3 + numpy the cross-check is counted as skipped, not passed.
const haveNumpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
(haveNumpy ? test : test.skip)('numpy reads the .npy back (when python3 with numpy is installed)', () => {
  const out = join(dir, 'np.npy');
  assert.is(cli(wav, '--npy', out).code, 0);
  const r = spawnSync(
    'python3',
    [
      '-c',
      `import numpy as np, sys; a = np.load(sys.argv[1]); print(a.shape, a.dtype, a.flags['C_CONTIGUOUS'], repr(float(a[10, 5, 1])))`,
      out,
    ],
    { encoding: 'utf8' },
  );
  assert.is(r.status, 0, r.stderr);
  const decoded = decodeWav(wavBytes, wav);
  const want = computeFeatures(resample(downmix(decoded.samples, 2), 44100, 16000));
  assert.is(r.stdout.trim(), `(78, 40, 3) float32 True ${want.data[10 * 120 + 5 * 3 + 1]}`);
});

test('without flags prints a summary', () => {
  const r = cli(wav);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /44100 Hz, 2 channels, 0\.800 s/);
  assert.match(r.stdout, /shape:\s+\[78, 40, 3\]/);
});

test("'-' reads a WAV from stdin, also one written to a pipe (data size 0xFFFFFFFF)", () => {
  const piped = Uint8Array.from(wavBytes);
  const dataSizeAt = piped.length - st.length * 2 - 4;
  new DataView(piped.buffer).setUint32(dataSizeAt, 0xffffffff, true);
  const r = spawnSync(process.execPath, [bin, 'features', '-'], { input: piped, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /file:\s+\(stdin\)/);
  assert.match(r.stdout, /shape:\s+\[78, 40, 3\]/);
});

test('a bad file is one coded line on stderr, exit 1, no stack', () => {
  const bad = join(dir, 'cut.wav');
  writeFileSync(bad, wavBytes.subarray(0, 1000));
  const r = cli(bad, '--npy', join(dir, 'x.npy'));
  assert.is(r.code, 1);
  assert.is(r.stdout, '');
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^emostream: error \[wav_truncated\]: .*cut\.wav/);
  assert.not.match(r.stderr, /\bat .*\.ts:\d+/);
});

test.run();
