// Zero padding cut from prepared corpora (scripts/trim-zero-edges.ts, run by
// scripts/prepare-corpora.sh): ASED pads its recordings to 3 s with digital silence. Runs of
// 100 ms or more at either end go; shorter ones, and everything between, stay byte for byte.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeWav, parseWavHeader } from '../src/ingest/wav.js';
import { trimZeroEdges } from '../scripts/trim-zero-edges.js';
import { makeWav, tone } from './fixtures/wavgen.js';
import { dataTest } from './helpers/shared-data.js';

const T = suite('corpora: zero padding');
const repo = fileURLToPath(new URL('..', import.meta.url));
const zeros = (n: number) => new Float32Array(n);
const join32 = (...parts: Float32Array[]) => {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
};
/** A tone that does not start on a zero sample (which would count as silence). */
const sound = (seconds: number) => tone(300, 16000, seconds, 0.3).map((v) => v + 0.05);
const wav16 = (samples: Float32Array, channels = 1, sampleRate = 16000) =>
  makeWav({ sampleRate, channels, type: 'int', bits: 16, samples });
const samplesOf = (path: string) => decodeWav(readFileSync(path), path).samples;

let dir = '';
T.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'emostream-trim-'));
});
T.after.each(() => rmSync(dir, { recursive: true, force: true }));

T('padding of 100 ms or more is cut at both ends; a shorter run, and the sound between, stay exactly', () => {
  const voiced = tone(300, 16000, 0.5, 0.3).map((v) => v + 0.05);
  voiced[1000] = 0; // a zero inside the sound is sound
  writeFileSync(join(dir, 'padded.wav'), wav16(join32(zeros(4800), voiced, zeros(3200)))); // 300 ms, 200 ms
  writeFileSync(join(dir, 'short.wav'), wav16(join32(zeros(800), voiced, zeros(1600)))); // 50 ms stays, 100 ms goes
  writeFileSync(join(dir, 'clean.wav'), wav16(voiced));
  const before = readFileSync(join(dir, 'clean.wav'));
  const s = trimZeroEdges([dir]);
  assert.equal([s.files, s.trimmed, s.removedFrames], [3, 2, 4800 + 3200 + 1600]);
  const want = decodeWav(wav16(voiced), 'want').samples;
  assert.equal(Array.from(samplesOf(join(dir, 'padded.wav'))), Array.from(want));
  assert.equal(Array.from(samplesOf(join(dir, 'short.wav'))), [...new Array(800).fill(0), ...want]);
  assert.equal(readFileSync(join(dir, 'clean.wav')), before, 'a file without padding is not rewritten');
  assert.equal(trimZeroEdges([dir]).trimmed, 0, 'running it again changes nothing');
});

T('stereo: a frame is silence only if both channels are; all-zero and 8-bit files', () => {
  const n = 3200; // 200 ms of frames
  const st = new Float32Array(2 * (n + 1600));
  for (let f = n; f < n + 1600; f++) st[2 * f] = 0.25; // left sounds after 200 ms of silence
  st[2 * 10 + 1] = 0.5; // …but the right channel has a click at frame 10: the lead is not silence
  writeFileSync(join(dir, 'stereo.wav'), wav16(st, 2));
  writeFileSync(join(dir, 'silent.wav'), wav16(zeros(8000)));
  // 8-bit PCM stores zero as 128: 200 ms of it before a tone is padding, byte 0 (−1.0) is not.
  writeFileSync(
    join(dir, 'eight.wav'),
    makeWav({ sampleRate: 16000, channels: 1, type: 'int', bits: 8, samples: join32(zeros(3200), sound(0.2)) }),
  );
  const s = trimZeroEdges([dir]);
  assert.equal(
    s.allZero.map((p) => p.split('/').pop()),
    ['silent.wav'],
  );
  assert.is(samplesOf(join(dir, 'stereo.wav')).length, 2 * (n + 1600), 'nothing cut: frame 10 is not silent');
  assert.is(samplesOf(join(dir, 'eight.wav')).length, 3200, 'the 8-bit padding is cut');
  assert.is(samplesOf(join(dir, 'silent.wav')).length, 8000, 'an all-zero file is left as it is');
});

T('the rewritten header is a valid WAV: 24-bit with an odd data length (pad byte) and 32-bit float', () => {
  const cases = [
    { name: 'odd24.wav', type: 'int' as const, bits: 24, n: 4001 },
    { name: 'float.wav', type: 'float' as const, bits: 32, n: 4000 },
  ];
  for (const c of cases)
    writeFileSync(
      join(dir, c.name),
      makeWav({ sampleRate: 16000, channels: 1, type: c.type, bits: c.bits, samples: join32(zeros(2000), sound(c.n / 16000)) }),
    );
  assert.is(trimZeroEdges([dir]).trimmed, 2);
  for (const c of cases) {
    const b = readFileSync(join(dir, c.name));
    const h = parseWavHeader(b, c.name)!;
    assert.equal([h.sampleType, h.bitsPerSample, h.dataBytes], [c.type, c.bits, (c.n * c.bits) / 8], c.name);
    assert.is(b.readUInt32LE(4), b.length - 8, `${c.name}: RIFF size`);
    assert.is(b.length, h.dataOffset + h.dataBytes! + (h.dataBytes! & 1), `${c.name}: data, then the pad byte if odd`);
    assert.is(samplesOf(join(dir, c.name)).length, c.n);
  }
});

dataTest(T, 'scripts/prepare-corpora.sh converts an ASED-layout folder and cuts its padding (PREPARED says so)', ['/usr/bin/sox'], () => {
  const src = join(dir, 'ASED_V1');
  for (const [folder, name] of [
    ['01Neutral', 'n1-01-01-01-01.wav'],
    ['05Angry', 'a5-01-01-01-02.wav'],
  ]) {
    mkdirSync(join(src, folder), { recursive: true });
    writeFileSync(join(src, folder, name), wav16(join32(sound(1.6), zeros(22400)))); // 1.6 s + 1.4 s of zeros
  }
  const out = join(dir, 'out');
  const r = spawnSync('bash', [join(repo, 'scripts/prepare-corpora.sh'), '--ased', src, '--out', out, '--jobs', '1'], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.is(samplesOf(join(out, 'ased/01Neutral/n1-01-01-01-01.wav')).length, 25600, '1.6 s left of 3 s');
  const prepared = readFileSync(join(out, 'ased/PREPARED'), 'utf8');
  assert.match(prepared, /^files=2$/m);
  assert.match(prepared, /^zero_padding=.*2 of 2 files trimmed/m);
});

T.run();
