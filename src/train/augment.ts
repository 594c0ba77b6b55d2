// Robust training and the robustness evaluation degrade clean 16 kHz speech the ways real
// microphones and rooms do: speed, gain, additive noise (white, pink, brown, babble) at a set
// signal-to-noise ratio, a synthetic room, telephone bandwidth, and SpecAugment masks on the
// features. Every draw comes from the generator passed in, so an augmentation is a pure
// function of (signal, seed). docs/training.md describes the recipe and its probabilities.
import { resample } from '../dsp/resample.js';
import { FRAME_SIZE, N_CHANNELS, N_MELS, SAMPLE_RATE } from '../dsp/types.js';

export type NoiseKind = 'white' | 'pink' | 'brown' | 'babble';
export const NOISE_KINDS: readonly NoiseKind[] = ['white', 'pink', 'brown', 'babble'];

/** Mean power of a signal (mean of squares). */
export function power(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return x.length ? s / x.length : 0;
}

export function dbToGain(db: number): number {
  return Math.pow(10, db / 20);
}

/** x scaled by `db` decibels, hard-clipped to [−1, 1] as a real converter clips. */
export function applyGain(x: Float32Array, db: number): Float32Array {
  const g = dbToGain(db);
  return x.map((v) => Math.max(-1, Math.min(1, v * g)));
}

/** A Gaussian draw (Box–Muller) from a uniform generator. */
function gauss(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** n samples of coloured noise: white, pink (−3 dB/octave, Kellet's filter) or brown (−6 dB/octave, leaky integrator). */
export function noise(kind: Exclude<NoiseKind, 'babble'>, n: number, rand: () => number): Float32Array {
  const out = new Float32Array(n);
  if (kind === 'white') {
    for (let i = 0; i < n; i++) out[i] = gauss(rand);
  } else if (kind === 'pink') {
    let b0 = 0,
      b1 = 0,
      b2 = 0,
      b3 = 0,
      b4 = 0,
      b5 = 0,
      b6 = 0;
    for (let i = 0; i < n; i++) {
      const w = gauss(rand);
      b0 = 0.99886 * b0 + w * 0.0555179;
      b1 = 0.99332 * b1 + w * 0.0750759;
      b2 = 0.969 * b2 + w * 0.153852;
      b3 = 0.8665 * b3 + w * 0.3104856;
      b4 = 0.55 * b4 + w * 0.5329522;
      b5 = -0.7616 * b5 - w * 0.016898;
      out[i] = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362;
      b6 = w * 0.115926;
    }
  } else {
    let y = 0;
    for (let i = 0; i < n; i++) {
      y = 0.998 * y + gauss(rand) * 0.05;
      out[i] = y;
    }
  }
  return out;
}

/** Babble: the sum of `talkers` other utterances, each starting at a random point and looped to length n. */
export function babble(n: number, pool: readonly Float32Array[], talkers: number, rand: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let k = 0; k < talkers && pool.length; k++) {
    const s = pool[Math.floor(rand() * pool.length)];
    if (s.length === 0) continue;
    const g = 1 / Math.sqrt(Math.max(power(s), 1e-12)); // each talker at unit power
    let j = Math.floor(rand() * s.length);
    for (let i = 0; i < n; i++, j++) out[i] += s[j % s.length] * g;
  }
  return out;
}

/**
 * x plus noise scaled so that power(x) / power(noise) is `snrDb` (both over the whole signal).
 * Not clipped: the sum of a full-scale signal and noise may exceed ±1, as in a float pipeline.
 */
export function addNoise(x: Float32Array, n: Float32Array, snrDb: number): Float32Array {
  const px = power(x),
    pn = power(n);
  if (px === 0 || pn === 0) return Float32Array.from(x);
  const g = Math.sqrt(px / (pn * Math.pow(10, snrDb / 10)));
  return x.map((v, i) => v + g * n[i % n.length]);
}

/** The SNR of `noisy` against the clean signal it came from, dB. */
export function measuredSnr(clean: Float32Array, noisy: Float32Array): number {
  let ps = 0,
    pn = 0;
  for (let i = 0; i < clean.length; i++) {
    ps += clean[i] * clean[i];
    const d = noisy[i] - clean[i];
    pn += d * d;
  }
  return 10 * Math.log10(ps / pn);
}

/** Speed factors the resampler handles with small rational ratios (9/10 … 11/10), so their filter tables stay small. */
export const SPEED_FACTORS = [0.9, 0.95, 1.05, 1.1] as const;

/** Plays x `factor` times faster (pitch and tempo together, as speed perturbation does): length / factor. */
export function speed(x: Float32Array, factor: number): Float32Array {
  return factor === 1 ? x : resample(x, Math.round(SAMPLE_RATE * factor), SAMPLE_RATE);
}

/** A second-order section (RBJ cookbook), run in place. */
function biquad(x: Float32Array, b0: number, b1: number, b2: number, a1: number, a2: number): Float32Array {
  let x1 = 0,
    x2 = 0,
    y1 = 0,
    y2 = 0;
  for (let i = 0; i < x.length; i++) {
    const y = b0 * x[i] + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
    x2 = x1;
    x1 = x[i];
    y2 = y1;
    y1 = y;
    x[i] = y;
  }
  return x;
}

function butterworth(x: Float32Array, kind: 'low' | 'high', hz: number): Float32Array {
  const w = (2 * Math.PI * hz) / SAMPLE_RATE,
    c = Math.cos(w),
    alpha = Math.sin(w) / Math.SQRT2,
    a0 = 1 + alpha;
  const k = kind === 'low' ? (1 - c) / 2 : (1 + c) / 2;
  const b1 = kind === 'low' ? 1 - c : -(1 + c);
  return biquad(x, k / a0, b1 / a0, k / a0, (-2 * c) / a0, (1 - alpha) / a0);
}

/** Telephone bandwidth: through 8 kHz sampling and a 300–3400 Hz band-pass (two sections each side). */
export function telephone(x: Float32Array): Float32Array {
  const y = resample(resample(x, SAMPLE_RATE, 8000), 8000, SAMPLE_RATE);
  for (let i = 0; i < 2; i++) {
    butterworth(y, 'high', 300);
    butterworth(y, 'low', 3400);
  }
  return y;
}

/**
 * A synthetic room: a Schroeder reverberator (four parallel feedback combs, two all-passes), whose
 * impulse response decays by 60 dB in `rt60` seconds, mixed with the direct sound at `wet` (0…1).
 */
export function reverb(x: Float32Array, rt60: number, wet: number, rand: () => number): Float32Array {
  const combMs = [29.7, 37.1, 41.1, 43.7].map((ms) => ms * (0.85 + 0.3 * rand()));
  const sum = new Float32Array(x.length);
  for (const ms of combMs) {
    const d = Math.max(1, Math.round((ms / 1000) * SAMPLE_RATE));
    const g = Math.pow(10, (-3 * ms) / 1000 / rt60);
    const buf = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      buf[i] = x[i] + (i >= d ? g * buf[i - d] : 0);
      sum[i] += buf[i] / combMs.length;
    }
  }
  let y = sum;
  for (const [ms, g] of [
    [5.0, 0.7],
    [1.7, 0.7],
  ] as const) {
    const d = Math.round((ms / 1000) * SAMPLE_RATE);
    const out = new Float32Array(y.length);
    for (let i = 0; i < y.length; i++) out[i] = -g * y[i] + (i >= d ? y[i - d] + g * out[i - d] : 0);
    y = out;
  }
  // Keep the loudness: the wet path at the dry signal's power.
  const k = Math.sqrt(power(x) / Math.max(power(y), 1e-20));
  return x.map((v, i) => (1 - wet) * v + wet * k * y[i]);
}

/** SpecAugment on [frames][40][3] features, in place: time and mel masks set to the utterance's mean. */
export function specAugment(
  f: { frames: number; data: Float32Array },
  rand: () => number,
  opts = { timeMasks: 2, maxTime: 20, melMasks: 2, maxMel: 6 },
): void {
  const T = f.frames;
  if (T === 0) return;
  const mean = new Float64Array(FRAME_SIZE);
  for (let t = 0; t < T; t++) for (let i = 0; i < FRAME_SIZE; i++) mean[i] += f.data[t * FRAME_SIZE + i] / T;
  for (let k = 0; k < opts.timeMasks; k++) {
    const w = Math.floor(rand() * (opts.maxTime + 1));
    const t0 = Math.floor(rand() * Math.max(1, T - w));
    for (let t = t0; t < Math.min(T, t0 + w); t++) for (let i = 0; i < FRAME_SIZE; i++) f.data[t * FRAME_SIZE + i] = mean[i];
  }
  for (let k = 0; k < opts.melMasks; k++) {
    const w = Math.floor(rand() * (opts.maxMel + 1));
    const m0 = Math.floor(rand() * Math.max(1, N_MELS - w));
    for (let t = 0; t < T; t++) {
      for (let m = m0; m < Math.min(N_MELS, m0 + w); m++) {
        for (let c = 0; c < N_CHANNELS; c++) f.data[t * FRAME_SIZE + m * N_CHANNELS + c] = mean[m * N_CHANNELS + c];
      }
    }
  }
}

/** The robust recipe's probabilities and ranges (docs/training.md). */
export interface AugmentConfig {
  /** Longest random crop at the start of an utterance longer than one window, s. */
  maxCropS: number;
  pSpeed: number;
  pReverb: number;
  pTelephone: number;
  pNoise: number;
  snrDb: [number, number];
  pGain: number;
  gainDb: [number, number];
  pSpecAugment: number;
  /** Share of samples cut to a short turn of shortS seconds around a loud moment (a word or two,
   *  as a voice agent hears them); absent = none, and the random stream is the recipe's without it. */
  pShort?: number;
  shortS?: [number, number];
}

export const ROBUST_AUGMENT: AugmentConfig = {
  maxCropS: 1.5,
  pSpeed: 0.5,
  pReverb: 0.25,
  pTelephone: 0.15,
  pNoise: 0.6,
  snrDb: [0, 30],
  pGain: 0.8,
  gainDb: [-35, 6],
  pSpecAugment: 0.5,
};

const pick = <T>(xs: readonly T[], rand: () => number): T => xs[Math.floor(rand() * xs.length)];

/** Samples per step of stepEnergies(): 10 ms. */
export const ENERGY_STEP = SAMPLE_RATE / 100;

/** The energy of each whole 10 ms step of x. */
export function stepEnergies(x: Float32Array): Float64Array {
  const energy = new Float64Array(Math.floor(x.length / ENERGY_STEP));
  for (let i = 0; i < energy.length; i++) for (let j = i * ENERGY_STEP; j < (i + 1) * ENERGY_STEP; j++) energy[i] += x[j] * x[j];
  return energy;
}

/**
 * `seconds` of x centred on a random loud 10 ms step (within 10 dB of the loudest), so the
 * short turn holds speech, not the silence around it; x itself when it is no longer.
 */
export function shortTurn(x: Float32Array, seconds: number, rand: () => number): Float32Array {
  const len = Math.round(seconds * SAMPLE_RATE);
  if (x.length <= len) return x;
  const energy = stepEnergies(x);
  const peak = Math.max(...energy);
  const loud: number[] = [];
  energy.forEach((e, i) => e >= peak / 10 && loud.push(i));
  const centre = (pick(loud, rand) + 0.5) * ENERGY_STEP;
  const start = Math.max(0, Math.min(x.length - len, Math.round(centre - len / 2)));
  return x.subarray(start, start + len);
}
const uniform = ([lo, hi]: [number, number], rand: () => number) => lo + (hi - lo) * rand();

/**
 * One augmented copy of a clean 16 kHz utterance (the waveform part of the recipe; SpecAugment
 * applies to the features afterwards). `pool` supplies babble talkers; the result's length
 * follows the speed factor and the crop, never the label.
 */
export function augmentSignal(x: Float32Array, cfg: AugmentConfig, rand: () => number, pool: readonly Float32Array[]): Float32Array {
  let y = x;
  const window = 3 * SAMPLE_RATE;
  if (y.length > window && cfg.maxCropS > 0) {
    const start = Math.floor(rand() * Math.min(cfg.maxCropS * SAMPLE_RATE, y.length - window));
    y = y.subarray(start);
  }
  if (cfg.pShort && rand() < cfg.pShort) y = shortTurn(y, uniform(cfg.shortS ?? [0.8, 1.6], rand), rand);
  if (rand() < cfg.pSpeed) y = speed(y, pick(SPEED_FACTORS, rand));
  if (rand() < cfg.pReverb) y = reverb(y, 0.2 + 0.6 * rand(), 0.2 + 0.5 * rand(), rand);
  if (rand() < cfg.pTelephone) y = telephone(y);
  if (rand() < cfg.pNoise) {
    const kind = pick(NOISE_KINDS, rand);
    const n = kind === 'babble' ? babble(y.length, pool, 3 + Math.floor(rand() * 4), rand) : noise(kind, y.length, rand);
    y = addNoise(y, n, uniform(cfg.snrDb, rand));
  }
  if (rand() < cfg.pGain) y = applyGain(y, uniform(cfg.gainDb, rand));
  return y === x ? Float32Array.from(x) : y;
}
