import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RealFft } from '../src/dsp/fft.js';
import { hammingWindow, frontEndFilterbank } from '../src/dsp/logmel.js';
import { hzToMel, melToHz } from '../src/dsp/mel.js';
import { rng } from './fixtures/wavgen.js';

test('RealFft power spectrum equals a naive DFT (sizes 8, 64, 512)', () => {
  const rand = rng(2);
  for (const n of [8, 64, 512]) {
    const x = new Float64Array(n).map(() => rand() * 2 - 1);
    const p = new Float64Array(n / 2 + 1);
    new RealFft(n).power(x, p);
    for (let k = 0; k <= n / 2; k++) {
      let re = 0,
        im = 0;
      for (let j = 0; j < n; j++) {
        re += x[j] * Math.cos((2 * Math.PI * j * k) / n);
        im -= x[j] * Math.sin((2 * Math.PI * j * k) / n);
      }
      const want = re * re + im * im;
      assert.ok(Math.abs(p[k] - want) < 1e-9 * Math.max(1, want), `n=${n} k=${k}: ${p[k]} vs ${want}`);
    }
  }
});

test('RealFft.powerWindowed equals power() of the windowed, zero-padded frame', () => {
  const rand = rng(6);
  const signal = new Float32Array(1000).map(() => rand() - 0.5);
  const w = hammingWindow();
  const f = new RealFft(512);
  const frame = new Float64Array(512);
  for (let n = 0; n < 400; n++) frame[n] = signal[123 + n] * w[n];
  const a = new Float64Array(257),
    b = new Float64Array(257);
  f.power(new Float64Array(512).fill(3), b); // leave stale data in the scratch buffers
  f.power(frame, a);
  f.powerWindowed(signal, 123, w, b);
  assert.equal(Array.from(b), Array.from(a));
});

test('RealFft reuses its buffers: two transforms of the same input agree', () => {
  const f = new RealFft(512);
  const x = new Float64Array(512).map((_, i) => Math.sin(i * 0.3));
  const a = new Float64Array(257),
    b = new Float64Array(257);
  f.power(x, a);
  f.power(new Float64Array(512).fill(1), b);
  f.power(x, b);
  assert.equal(Array.from(a), Array.from(b));
});

test('HTK mel scale: 1000 Hz ≈ 1000 mel, and the inverse round-trips', () => {
  assert.ok(Math.abs(hzToMel(1000) - 999.9855) < 1e-3);
  for (const f of [0, 123, 4000, 8000]) assert.ok(Math.abs(melToHz(hzToMel(f)) - f) < 1e-9);
});

test('Hamming window is symmetric, 0.08 at both ends, 1 at the centre', () => {
  const w = hammingWindow();
  assert.is(w.length, 400);
  assert.ok(Math.abs(w[0] - 0.08) < 1e-12 && Math.abs(w[399] - 0.08) < 1e-12);
  for (let n = 0; n < 200; n++) assert.ok(Math.abs(w[n] - w[399 - n]) < 1e-12);
  assert.ok(Math.abs(w[199] - (0.54 - 0.46 * Math.cos((2 * Math.PI * 199) / 399))) < 1e-15);
});

// librosa.filters.mel(sr=16000, n_fft=512, n_mels=40, fmin=0, fmax=8000, htk=True, norm=None)
// values, computed with numpy 2.4 from librosa's formula (mel_frequencies via the HTK scale,
// weights = max(0, min(-ramps[i]/fdiff[i], ramps[i+2]/fdiff[i+1]))) — not with this code.
const LIBROSA: [number, number, number][] = [
  [0, 1, 0.70424],
  [0, 2, 0.615870556],
  [5, 9, 0.48741263],
  [10, 20, 0.374355236],
  [20, 60, 0.812851491],
  [39, 240, 0.964079081],
  [39, 256, 0],
];

test('mel filterbank matches librosa (htk=True, norm=None) at reference points', () => {
  const fb = frontEndFilterbank();
  assert.is(fb.nMels, 40);
  assert.is(fb.nBins, 257);
  for (const [m, k, want] of LIBROSA) {
    const got = fb.weights[m * 257 + k];
    assert.ok(Math.abs(got - want) < 1e-7, `W[${m}][${k}] = ${got}, librosa ${want}`);
  }
});

test('mel filterbank properties: triangles with peak ≤ 1, edges equally spaced in mel, 0–8000 Hz', () => {
  const fb = frontEndFilterbank();
  const step = hzToMel(8000) / 41;
  for (let i = 0; i < 42; i++) assert.ok(Math.abs(hzToMel(fb.edgesHz[i]) - i * step) < 1e-9);
  assert.is(fb.edgesHz[0], 0);
  assert.ok(Math.abs(fb.edgesHz[41] - 8000) < 1e-9);
  for (let m = 0; m < 40; m++) {
    const row = Array.from(fb.weights.subarray(m * 257, (m + 1) * 257));
    const max = Math.max(...row);
    assert.ok(max <= 1 && max > 0.5, `filter ${m} peak ${max}`);
    const peak = row.indexOf(max);
    // Rises to its peak, then falls: unimodal.
    for (let k = fb.lo[m]; k < peak; k++) assert.ok(row[k] <= row[k + 1]);
    for (let k = peak; k < fb.hi[m] - 1; k++) assert.ok(row[k] >= row[k + 1]);
    // Zero outside (left edge, right edge) in Hz.
    for (let k = 0; k < 257; k++) {
      const f = (k * 16000) / 512;
      if (f <= fb.edgesHz[m] || f >= fb.edgesHz[m + 2]) assert.is(row[k], 0, `filter ${m} bin ${k}`);
      else assert.ok(row[k] > 0);
    }
  }
  // Not area-normalised: the wide top filter has a much larger sum than the narrow bottom one.
  const sum = (m: number) => fb.weights.subarray(m * 257, (m + 1) * 257).reduce((a, b) => a + b, 0);
  assert.ok(sum(39) > 10 * sum(0));
});

test.run();
