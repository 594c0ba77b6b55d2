// Per-window mean normalisation (the robust recipe's feature view): gain does not change it,
// padding stays padding, and the streaming front end gives the same normalised windows as the
// offline path for any chunking.
import { from, lastValueFrom, toArray } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { computeFeatures } from '../src/dsp/features.js';
import { isDigitalSilence, meanNormalized, normalizeWindow, realFrames, subtractWindowMean } from '../src/dsp/normalize.js';
import { StreamFrontEnd } from '../src/dsp/stream-front-end.js';
import { FRAME_SIZE, N_CHANNELS, N_MELS, WINDOW_SIZE } from '../src/dsp/types.js';
import { cutWindow, utteranceWindows } from '../src/dsp/utterance.js';
import { planWindows } from '../src/dsp/windows.js';
import type { AudioChunk } from '../src/ingest/types.js';
import { randomPieces, rng } from './fixtures/wavgen.js';

function noiseSignal(seconds: number, amp: number, seed: number): Float32Array {
  const r = rng(seed);
  const x = new Float32Array(seconds * 16000);
  for (let i = 0; i < x.length; i++) x[i] = amp * (r() * 2 - 1) * (0.6 + 0.4 * Math.sin(i / 2000));
  return x;
}

const firstWindow = (x: Float32Array) => {
  const f = computeFeatures(x);
  return cutWindow(f.data, utteranceWindows(f.frames)[0]);
};

test('a gain change leaves the mean-normalised window unchanged (it changes the raw one)', () => {
  const x = noiseSignal(2, 0.3, 1);
  const quiet = x.map((v) => v * 0.1); // −20 dB
  const a = firstWindow(x),
    b = firstWindow(quiet);
  let raw = 0;
  for (let i = 0; i < a.length; i += N_CHANNELS) raw = Math.max(raw, Math.abs(a[i] - b[i]));
  assert.ok(raw > 4, `raw log-mel moves by ln(100) ≈ 4.6 (${raw})`);
  const na = subtractWindowMean(Float32Array.from(a)),
    nb = subtractWindowMean(Float32Array.from(b));
  let diff = 0;
  for (let i = 0; i < na.length; i++) diff = Math.max(diff, Math.abs(na[i] - nb[i]));
  assert.ok(diff < 1e-2, `normalised windows differ by ${diff}`);
});

test('only real frames take part; padding frames stay zero; each band then has mean 0', () => {
  const x = noiseSignal(1.2, 0.2, 2); // shorter than a window: zero-padded
  const w = firstWindow(x);
  const T = realFrames(w);
  assert.is(T, computeFeatures(x).frames);
  const n = subtractWindowMean(Float32Array.from(w));
  assert.ok(
    n.subarray(T * FRAME_SIZE).every((v) => v === 0),
    'padding untouched',
  );
  for (let m = 0; m < N_MELS; m++) {
    let s = 0;
    for (let t = 0; t < T; t++) s += n[t * FRAME_SIZE + m * N_CHANNELS];
    assert.ok(Math.abs(s / T) < 1e-4, `band ${m} mean ${s / T}`);
  }
  for (let i = 1; i < T * FRAME_SIZE; i += N_CHANNELS) assert.is(n[i], w[i], 'Δ untouched');
  assert.is(realFrames(new Float32Array(WINDOW_SIZE)), 0);
});

test('digital silence (exact zeros) is dropped from the window: the frames of sound come out as without it', () => {
  // 0.6 s of exact zeros before 2 s of sound: a muted microphone, a codec's DTX, ASED's padding.
  const x = noiseSignal(2, 0.3, 3);
  const padded = new Float32Array(x.length + 9600);
  padded.set(x, 9600);
  const withZeros = firstWindow(padded);
  const alone = firstWindow(x);
  // Frames wholly inside the zeros: (9600 − 400) / 160 + 1 = 58; two more straddle the edge.
  let silent = 0;
  while (isDigitalSilence(withZeros, silent)) silent++;
  assert.is(silent, 58);
  assert.not.ok(isDigitalSilence(alone, 0), 'a quiet frame of sound is not digital silence');
  const shift = 9600 / 160;
  const T = realFrames(withZeros);
  const a = subtractWindowMean(Float32Array.from(withZeros));
  assert.is(realFrames(a), T - silent, 'the silent frames are gone; the window ends in that much more padding');
  // The log-mel channel of the frames of sound against the same frames normalised without the
  // zeros (the window holding zeros ends 60 frames earlier). Only the two frames that straddle
  // the edge (part zeros, part sound) are in one mean and not the other.
  const real = T - shift;
  const partial = subtractWindowMean(Float32Array.from(alone).fill(0, real * FRAME_SIZE));
  // The same, had the silent frames counted in the mean (at the floor, ln 1e-6 ≈ −13.8).
  const naiveMean = new Float64Array(N_MELS);
  for (let t = 0; t < T; t++) for (let m = 0; m < N_MELS; m++) naiveMean[m] += withZeros[t * FRAME_SIZE + m * N_CHANNELS] / T;
  let diff = 0;
  let naive = 0;
  for (let t = 0; t < real; t++)
    for (let m = 0; m < N_MELS; m++) {
      const want = partial[t * FRAME_SIZE + m * N_CHANNELS];
      diff = Math.max(diff, Math.abs(a[(t + shift - silent) * FRAME_SIZE + m * N_CHANNELS] - want));
      naive = Math.max(naive, Math.abs(withZeros[(t + shift) * FRAME_SIZE + m * N_CHANNELS] - naiveMean[m] - want));
    }
  assert.ok(diff < 0.1, `frames of sound differ by ${diff}`);
  assert.ok(naive > 1, `with the zeros in the mean they would move by ${naive}`);
  // All silence: nothing left; the window is all zeros (padding).
  const mute = firstWindow(new Float32Array(32000));
  assert.ok(
    subtractWindowMean(Float32Array.from(mute)).every((v) => v === 0),
    'a window of digital silence becomes zeros',
  );
});

test('normalizeWindow: the paper path is plain z-scoring; the robust path subtracts the window mean first', () => {
  const w = firstWindow(noiseSignal(3.5, 0.2, 3));
  const norm = {
    mean: Array.from({ length: FRAME_SIZE }, (_, i) => i / 100),
    std: Array.from({ length: FRAME_SIZE }, (_, i) => 1 + i / 50),
  };
  const paper = normalizeWindow(w, norm);
  assert.ok(Math.abs(paper[5] - (w[5] - norm.mean[5]) / norm.std[5]) < 1e-6);
  assert.is(meanNormalized(w, { windowMean: false }), w, 'no copy when off');
  const robust = normalizeWindow(w, { ...norm, windowMean: true });
  const pre = subtractWindowMean(Float32Array.from(w));
  assert.ok(Math.abs(robust[3] - (pre[3] - norm.mean[3]) / norm.std[3]) < 1e-6);
});

test('streaming front end = offline: placed windows, mean-normalised, for random chunkings', async () => {
  const x = noiseSignal(5, 0.25, 4);
  const f = computeFeatures(x);
  const plan = planWindows(f.frames, { hopFrames: 50, minFrames: 100 });
  for (const seed of [1, 2, 3]) {
    const fe = new StreamFrontEnd({
      format: { sampleRate: 16000, channels: 1 },
      hopMs: 500,
      minWindowMs: 1000,
      vad: { thresholdDb: 9, minDbfs: -55 },
    });
    let at = 0;
    const chunks: AudioChunk[] = randomPieces(x.length, 5000, rng(seed)).map((n) => {
      const samples = x.slice(at, at + n);
      at += n;
      return { format: { sampleRate: 16000, channels: 1 }, samples };
    });
    const items = await lastValueFrom(fe.segment(from(chunks)).pipe(toArray()));
    const got = items.flatMap((w) => (w.kind === 'window' ? [w] : []));
    assert.is(got.length, plan.length);
    got.forEach((w, i) => {
      const want = meanNormalized(cutWindow(f.data, plan[i]), { windowMean: true });
      const mine = meanNormalized(w.data, { windowMean: true });
      assert.is(w.startMs, plan[i].startFrame * 10);
      assert.is(w.endMs, plan[i].endFrame * 10);
      for (let j = 0; j < WINDOW_SIZE; j++) {
        if (!(Math.abs(mine[j] - want[j]) <= 1e-4))
          assert.unreachable(`chunking ${seed}, window ${i}, value ${j}: ${mine[j]} vs ${want[j]}`);
      }
    });
  }
});

test.run();
