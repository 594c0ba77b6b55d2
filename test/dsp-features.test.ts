import { from, lastValueFrom, toArray } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { computeFeatures, deltaSequence, FeatureStream, frameCount, logMelFeatures } from '../src/dsp/features.js';
import { hzToMel } from '../src/dsp/mel.js';
import { FRAME_SIZE, N_MELS } from '../src/dsp/types.js';
import { loadAudio16k } from '../src/dsp/load.js';
import { randomPieces, rng, tone } from './fixtures/wavgen.js';
import { dataTest, sharedPath } from './helpers/shared-data.js';

/** The test signal of the reference values below: 440 Hz tone + chirp, then 800 zero samples. */
function synthetic(): Float32Array {
  const x = new Float32Array(8800);
  for (let n = 0; n < 8000; n++) {
    const t = n / 16000;
    x[n] = 0.4 * Math.sin(2 * Math.PI * 440 * t) + 0.2 * Math.sin(2 * Math.PI * (200 * t + 3000 * t * t));
  }
  return x;
}

// [frame, mel, static, Δ, ΔΔ] computed independently with numpy 2.4 (float64): np.fft.rfft power
// spectrum, the librosa mel formula (htk, norm=None) re-implemented in numpy, np.log(·+1e-6), and
// Δ/ΔΔ by np.clip-ed indices. Script: the definition in docs/features.md, applied to synthetic().
const REFERENCE: [number, number, number, number, number][] = [
  [0, 0, -1.254399, -0.502036, 0.013286],
  [0, 7, 7.799581, -0.044574, 0.008775],
  [0, 20, -5.451513, 0.310317, 0.011637],
  [0, 39, -6.957613, 0.451867, 0.000951],
  [1, 0, -2.137211, -0.652454, 0.123575],
  [1, 7, 7.829035, 0.002617, 0.01127],
  [1, 20, -4.141975, 0.364133, -0.094575],
  [1, 39, -5.172929, 0.505065, -0.147194],
  [10, 0, -1.821112, -0.180236, -0.216225],
  [10, 7, 7.800252, 0.00018, 0.000023],
  [10, 20, -4.716394, -0.194439, 0.038556],
  [10, 39, -6.730203, -0.173993, 0.109062],
  [26, 0, -2.617472, -0.477889, -0.026216],
  [26, 7, 7.800753, 0.000078, -0.000052],
  [26, 20, 6.530969, 0.148993, -0.890941],
  [26, 39, -7.705765, 0.288171, 0.210521],
  [49, 0, 1.850039, -3.216521, -1.130614],
  [49, 7, 5.897796, -6.477788, -0.887667],
  [49, 20, -3.489071, -2.933535, -0.570199],
  [49, 39, -2.184467, -2.909552, -0.913961],
  [52, 0, -13.815511, 0, 1.191013],
  [52, 7, -13.815511, 0, 1.650327],
  [52, 20, -13.815511, 0, 0.789002],
  [52, 39, -13.815511, 0, 0.874402],
];

test('offline features match independently computed numpy reference values', () => {
  const { frames, data } = computeFeatures(synthetic());
  assert.is(frames, 53);
  assert.is(data.length, 53 * FRAME_SIZE);
  for (const [t, m, ...want] of REFERENCE) {
    for (let ch = 0; ch < 3; ch++) {
      const got = data[t * FRAME_SIZE + m * 3 + ch];
      assert.ok(Math.abs(got - want[ch]) < 2e-4, `frame ${t} mel ${m} ch ${ch}: ${got} vs ${want[ch]}`);
    }
  }
});

test('frame count: a frame exists only once all 400 samples have arrived', () => {
  assert.is(frameCount(0), 0);
  assert.is(frameCount(399), 0);
  assert.is(frameCount(400), 1);
  assert.is(frameCount(559), 1);
  assert.is(frameCount(560), 2);
  assert.is(frameCount(16000), 98);
  assert.is(computeFeatures(new Float32Array(399)).frames, 0);
});

test('Δ of a linear ramp is its slope in the interior; edges follow the clamped formula', () => {
  const T = 12,
    slope = 0.3;
  const x = new Float64Array(T * N_MELS);
  for (let t = 0; t < T; t++) for (let m = 0; m < N_MELS; m++) x[t * N_MELS + m] = slope * t + m;
  const d = deltaSequence(x, T);
  for (let m = 0; m < N_MELS; m += 13) {
    for (let t = 2; t < T - 2; t++) assert.ok(Math.abs(d[t * N_MELS + m] - slope) < 1e-12);
    assert.ok(Math.abs(d[m] - 0.5 * slope) < 1e-12); // (s + 2·2s)/10
    assert.ok(Math.abs(d[N_MELS + m] - 0.8 * slope) < 1e-12); // (2s + 2·3s)/10
    assert.ok(Math.abs(d[(T - 1) * N_MELS + m] - 0.5 * slope) < 1e-12);
  }
});

test('end to end: an exponentially growing periodic signal gives a log-mel ramp, constant Δ, zero ΔΔ', () => {
  // A 160-sample-periodic signal times e^{αn}: frame t is frame 0 scaled by e^{160αt}, so every
  // log-mel band rises by 320α per frame (well above the 1e-6 floor).
  const rand = rng(1);
  const period = new Float64Array(160);
  for (let k = 1; k < 80; k++) {
    const ph = rand() * 2 * Math.PI;
    for (let n = 0; n < 160; n++) period[n] += Math.sin((2 * Math.PI * k * n) / 160 + ph) / 40;
  }
  const alpha = Math.log(2) / 16000;
  const x = new Float32Array(16000);
  for (let n = 0; n < x.length; n++) x[n] = 0.1 * period[n % 160] * Math.exp(alpha * n);
  const { frames, data } = computeFeatures(x);
  const slope = 320 * alpha;
  for (let t = 4; t < frames - 4; t++) {
    for (let m = 0; m < N_MELS; m++) {
      const i = t * FRAME_SIZE + m * 3;
      assert.ok(Math.abs(data[i + 1] - slope) < 1e-4, `Δ frame ${t} mel ${m}: ${data[i + 1]} vs ${slope}`);
      assert.ok(Math.abs(data[i + 2]) < 1e-4, `ΔΔ frame ${t} mel ${m}: ${data[i + 2]}`);
      assert.ok(Math.abs(data[i] - data[i - FRAME_SIZE] - slope) < 1e-4);
    }
  }
  assert.ok(Math.abs(data[1] - 0.5 * slope) < 1e-4, 'first frame Δ is edge-replicated');
});

test('a pure tone peaks in the mel band whose centre is nearest in mel', () => {
  const spacing = hzToMel(8000) / 41;
  for (const f of [300, 1000, 2500, 5000, 7200]) {
    const pos = hzToMel(f) / spacing - 1; // band index of the tone, fractional
    if (Math.abs(pos - Math.round(pos)) > 0.35) continue; // too close to a crossover to be sure
    const { frames, data } = computeFeatures(tone(f, 16000, 0.1, 0.5));
    const t = Math.floor(frames / 2);
    let best = 0;
    for (let m = 1; m < N_MELS; m++) if (data[t * FRAME_SIZE + m * 3] > data[t * FRAME_SIZE + best * 3]) best = m;
    assert.is(best, Math.round(pos), `${f} Hz`);
  }
});

function streamed(x: Float32Array, pieces: number[]): Float32Array[] {
  const frames: Float32Array[] = [];
  const fs = new FeatureStream((f) => frames.push(f));
  let at = 0;
  for (const n of pieces) {
    fs.push(x.subarray(at, at + n));
    at += n;
  }
  fs.end();
  return frames;
}

function assertSame(frames: Float32Array[], want: { frames: number; data: Float32Array }, label: string): void {
  assert.is(frames.length, want.frames, `${label}: frame count`);
  for (let t = 0; t < frames.length; t++) {
    for (let i = 0; i < FRAME_SIZE; i++) {
      if (!(Math.abs(frames[t][i] - want.data[t * FRAME_SIZE + i]) <= 1e-5))
        assert.unreachable(`${label}: frame ${t} value ${i}: ${frames[t][i]} vs ${want.data[t * FRAME_SIZE + i]}`);
    }
  }
}

test('streaming equals offline for random chunkings (1 sample, ≤37, ≤1000, ≤16000 at a time)', () => {
  const rand = rng(42);
  const x = new Float32Array(19000);
  for (let n = 0; n < x.length; n++) x[n] = 0.3 * Math.sin(n * 0.05) + 0.2 * (rand() - 0.5);
  const want = computeFeatures(x);
  for (const max of [37, 1000, 16000]) assertSame(streamed(x, randomPieces(x.length, max, rand)), want, `pieces ≤ ${max}`);
  const short = x.subarray(0, 3200);
  assertSame(streamed(short, new Array(short.length).fill(1)), computeFeatures(short), 'one sample at a time');
});

test('streaming equals offline for very short signals (0…6 frames), where the tail flush does everything', () => {
  const rand = rng(9);
  for (const len of [0, 399, 400, 560, 720, 880, 1040, 1200, 1300]) {
    const x = new Float32Array(len);
    for (let n = 0; n < len; n++) x[n] = rand() - 0.5;
    assertSame(streamed(x, randomPieces(len, 97, rand)), computeFeatures(x), `${len} samples`);
  }
});

test('logMelFeatures operator emits frames as soon as they are final (4 frames of look-ahead)', async () => {
  const x = new Float32Array(400 + 160 * 9); // 10 frames
  x.forEach((_, i) => (x[i] = Math.sin(i)));
  const seen: number[] = [];
  const fs = new FeatureStream(() => seen.push(0));
  fs.push(x.subarray(0, 400 + 160 * 4)); // frames 0…4 exist → frame 0 is final
  assert.is(fs.framesEmitted, 1);
  fs.push(x.subarray(400 + 160 * 4));
  assert.is(fs.framesEmitted, 6);
  fs.end();
  assert.is(fs.framesEmitted, 10);
  const frames = await lastValueFrom(from([x.subarray(0, 1000), x.subarray(1000)]).pipe(logMelFeatures(), toArray()));
  assertSame(frames, computeFeatures(x), 'operator');
});

const FA = sharedPath('emodb/wav/03a01Fa.wav');
dataTest(test, 'real file: streaming the whole Emo-DB utterance matches offline', [FA], async () => {
  const x = await loadAudio16k(FA);
  const want = computeFeatures(x);
  assert.is(want.frames, frameCount(x.length));
  assertSame(streamed(x, randomPieces(x.length, 4000, rng(3))), want, '03a01Fa');
  for (const v of want.data) assert.ok(Number.isFinite(v));
});

test.run();
