// Augmentation is a pure function of (signal, seed), keeps the label and the length rules, and
// degrades a signal to exactly the asked SNR and gain (the robustness evaluation relies on it).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  addNoise,
  applyGain,
  augmentSignal,
  babble,
  measuredSnr,
  noise,
  power,
  reverb,
  ROBUST_AUGMENT,
  shortTurn,
  specAugment,
  speed,
  telephone,
} from '../src/train/augment.js';
import { computeFeatures } from '../src/dsp/features.js';
import { CONDITIONS, degrade, loudestSpan, parseConditions } from '../src/train/robustness.js';
import { rng } from '../src/train/protocols.js';
import { tone } from './fixtures/wavgen.js';

const speechLike = (seconds: number, seed: number) => {
  const r = rng(seed);
  const x = tone(220, 16000, seconds, 0.3);
  for (let i = 0; i < x.length; i++) x[i] = x[i] * (0.5 + 0.5 * Math.sin(i / 900)) + 0.02 * (r() - 0.5);
  return x;
};

test('deterministic for a seed; another seed gives another copy', () => {
  const x = speechLike(4, 1),
    pool = [speechLike(2, 2), speechLike(3, 3)];
  const a = augmentSignal(x, ROBUST_AUGMENT, rng(7), pool);
  const b = augmentSignal(x, ROBUST_AUGMENT, rng(7), pool);
  assert.equal(a, b);
  const differ = [8, 9, 10, 11].some((s) => {
    const c = augmentSignal(x, ROBUST_AUGMENT, rng(s), pool);
    return c.length !== a.length || c.some((v, i) => v !== a[i]);
  });
  assert.ok(differ);
  const again = speechLike(4, 1);
  assert.ok(
    x.every((v, i) => v === again[i]),
    'the input is not modified',
  );
});

test('length rules: only speed and the start crop change the length', () => {
  const x = speechLike(5, 4);
  const none = { ...ROBUST_AUGMENT, maxCropS: 0, pSpeed: 0 };
  for (let s = 0; s < 20; s++) assert.is(augmentSignal(x, none, rng(s), [x]).length, x.length);
  for (const f of [0.9, 0.95, 1.05, 1.1]) assert.ok(Math.abs(speed(x, f).length - x.length / f) <= 2, `speed ${f}`);
  const cropOnly = { ...none, pReverb: 0, pTelephone: 0, pNoise: 0, pGain: 0 };
  for (let s = 0; s < 20; s++) {
    const y = augmentSignal(x, { ...cropOnly, maxCropS: 1.5 }, rng(s), [x]);
    assert.ok(y.length <= x.length && y.length >= x.length - 1.5 * 16000, `crop ${x.length - y.length}`);
  }
  const short = speechLike(2, 5); // shorter than a window: never cropped
  assert.is(augmentSignal(short, { ...cropOnly, maxCropS: 1.5 }, rng(1), [x]).length, short.length);
});

test('noise of every kind lands within 0.5 dB of the asked SNR', () => {
  const x = speechLike(3, 6);
  const r = rng(12);
  for (const snr of [20, 10, 5, 0]) {
    for (const kind of ['white', 'pink', 'brown'] as const) {
      const got = measuredSnr(x, addNoise(x, noise(kind, x.length, r), snr));
      assert.ok(Math.abs(got - snr) < 0.5, `${kind} at ${snr} dB: ${got.toFixed(2)}`);
    }
    const got = measuredSnr(x, addNoise(x, babble(x.length, [speechLike(2, 7), speechLike(2.5, 8)], 4, r), snr));
    assert.ok(Math.abs(got - snr) < 0.5, `babble at ${snr} dB: ${got.toFixed(2)}`);
  }
});

test('pink and brown noise fall with frequency', () => {
  const r = rng(3);
  const bandPower = (x: Float32Array, hz: number) => power(telephoneBand(x, hz));
  const telephoneBand = (x: Float32Array, hz: number) => {
    // One DFT bin's neighbourhood by correlation with a complex tone.
    let re = 0,
      im = 0;
    for (let i = 0; i < x.length; i++) {
      re += x[i] * Math.cos((2 * Math.PI * hz * i) / 16000);
      im += x[i] * Math.sin((2 * Math.PI * hz * i) / 16000);
    }
    return Float32Array.of(Math.hypot(re, im));
  };
  for (const kind of ['pink', 'brown'] as const) {
    const n = noise(kind, 64000, r);
    let lo = 0,
      hi = 0;
    for (let k = 0; k < 20; k++) {
      lo += bandPower(n, 200 + k * 7);
      hi += bandPower(n, 4000 + k * 7);
    }
    assert.ok(lo > 4 * hi, `${kind}: ${lo.toExponential(2)} vs ${hi.toExponential(2)}`);
  }
});

test('gain scales power by the asked dB; telephone keeps 300–3400 Hz only; reverb keeps length and loudness', () => {
  const x = speechLike(2, 9);
  const g = 10 * Math.log10(power(applyGain(x, -30)) / power(x));
  assert.ok(Math.abs(g + 30) < 0.01, `gain ${g}`);
  const level = (hz: number) => {
    const t = tone(hz, 16000, 1, 0.3);
    return 10 * Math.log10(power(telephone(t).subarray(2000, 14000)) / power(t.subarray(2000, 14000)));
  };
  assert.ok(Math.abs(level(1000)) < 1, `1 kHz ${level(1000)}`);
  assert.ok(level(100) < -15, `100 Hz ${level(100)}`);
  assert.ok(level(5000) < -30, `5 kHz ${level(5000)}`);
  const y = reverb(x, 0.5, 0.5, rng(1));
  assert.is(y.length, x.length);
  assert.ok(Math.abs(10 * Math.log10(power(y) / power(x))) < 3);
});

test('SpecAugment masks set values to the utterance mean, deterministically', () => {
  const f = computeFeatures(speechLike(2, 10));
  const a = { frames: f.frames, data: Float32Array.from(f.data) };
  const b = { frames: f.frames, data: Float32Array.from(f.data) };
  specAugment(a, rng(5));
  specAugment(b, rng(5));
  assert.equal(a.data, b.data);
  const changed = a.data.filter((v, i) => v !== f.data[i]).length;
  assert.ok(changed > 0 && changed < f.data.length / 2, `${changed} values masked`);
});

test('the robustness conditions degrade a known signal to the asked SNR or gain', () => {
  const x = speechLike(3, 11);
  const pool = [speechLike(2, 12), speechLike(2, 13), speechLike(3, 14)];
  for (const c of CONDITIONS) {
    const y = degrade(x, c, rng(1), pool);
    assert.is(y.length, x.length, c.name);
    if (c.kind === 'pink' || c.kind === 'babble') {
      const snr = measuredSnr(x, y);
      assert.ok(Math.abs(snr - c.value!) < 0.5, `${c.name}: ${snr.toFixed(2)} dB`);
    } else if (c.kind === 'gain') {
      const g = 10 * Math.log10(power(y) / power(x));
      assert.ok(Math.abs(g - c.value!) < 0.01, `${c.name}: ${g.toFixed(3)} dB`);
    } else if (c.kind === 'clean') assert.is(y, x);
  }
  assert.equal(
    CONDITIONS.map((c) => c.name),
    [
      'clean',
      'pink 20 dB',
      'pink 10 dB',
      'pink 5 dB',
      'pink 0 dB',
      'babble 20 dB',
      'babble 10 dB',
      'babble 5 dB',
      'babble 0 dB',
      'gain -10 dB',
      'gain -30 dB',
      'gain -45 dB',
      'telephone',
    ],
  );
});

test('--conditions names parse to the default conditions and to crops; bad entries say which', () => {
  const parsed = parseConditions('clean,pink:10,babble:0,gain:-30,telephone,crop:1.5,zeros:0.5');
  assert.equal(
    parsed.map((c) => c.name),
    ['clean', 'pink 10 dB', 'babble 0 dB', 'gain -30 dB', 'telephone', 'crop 1.5 s', 'zeros 0.5 s'],
  );
  // The same names as the default set, so the same noise is drawn for them (comparable tables).
  for (const c of parsed.slice(0, 5))
    assert.ok(
      CONDITIONS.some((d) => d.name === c.name && d.value === c.value),
      c.name,
    );
  for (const bad of ['pink', 'pink:x', 'crop:0', 'zeros:0', 'zeros:-1', 'clean:3', 'echo:5', 'gain:-3:4'])
    assert.throws(
      () => parseConditions(bad),
      (e: Error) => e.message.includes(`'${bad}'`),
      bad,
    );
});

test('a crop keeps the loudest span of the asked length, and a shorter signal whole', () => {
  const x = new Float32Array(48000).fill(0.001);
  for (let i = 30000; i < 38000; i++) x[i] = 0.5; // 0.5 s burst at 1.875 s
  const y = loudestSpan(x, 1);
  assert.is(y.length, 16000);
  let loud = 0;
  for (const v of y) if (v === 0.5) loud++;
  assert.is(loud, 8000, 'the whole burst is inside the kept second');
  assert.is(loudestSpan(x, 4), x);
  const c = parseConditions('crop:1')[0];
  assert.is(degrade(x, c, rng(1), []).length, 16000);
});

test('digital silence: the signal unchanged between exact zeros of the asked length', () => {
  const x = new Float32Array(8000).map((_, i) => 0.1 * Math.sin(i / 5) + 0.01);
  const y = degrade(x, parseConditions('zeros:0.25')[0], rng(1), []);
  assert.is(y.length, 8000 + 2 * 4000);
  assert.ok(y.subarray(0, 4000).every((v) => v === 0) && y.subarray(12000).every((v) => v === 0));
  assert.equal(Array.from(y.subarray(4000, 12000)), Array.from(x));
});

test('short turns: the asked length around a loud moment; without them the recipe draws as before', () => {
  const x = new Float32Array(64000).fill(0.001);
  for (let i = 40000; i < 48000; i++) x[i] = 0.4 * Math.sin(i / 7); // the only speech: 2.5–3.0 s
  for (let s = 0; s < 10; s++) {
    const y = shortTurn(x, 1, rng(s));
    assert.is(y.length, 16000);
    assert.ok(
      y.some((v) => Math.abs(v) > 0.1),
      'holds some of the speech',
    );
  }
  assert.is(shortTurn(x, 5, rng(1)), x);
  const z = speechLike(4, 9);
  for (let s = 0; s < 5; s++) {
    const plain = augmentSignal(z, ROBUST_AUGMENT, rng(s), [z]);
    assert.equal(augmentSignal(z, { ...ROBUST_AUGMENT, pShort: 0 }, rng(s), [z]), plain, 'pShort 0 = the recipe without it');
    const short = augmentSignal(z, { ...ROBUST_AUGMENT, pShort: 1, shortS: [0.8, 1.6] }, rng(s), [z]);
    assert.ok(short.length >= 0.8 * 16000 * 0.89 && short.length <= (1.6 * 16000) / 0.89, `length ${short.length}`);
  }
});

test.run();
