// Feature normalisation, in one place: the optional per-window mean normalisation of the
// log-mel channel, and per-(mel, channel) z-scoring with the statistics the trainer stores in
// meta.json. The trainer, the tfjs engine, the ONNX engine and the export's parity check all
// normalise through normalizeWindow(); the ONNX graph holds the z-scoring itself.
import { LOG_FLOOR } from './logmel.js';
import { FRAME_SIZE, N_CHANNELS, N_MELS, WINDOW_SIZE } from './types.js';

/** A model's input normalisation, as meta.json's `norm` records it. */
export interface Normalization {
  /** Per (mel, channel), index mel*3+channel. */
  mean: number[];
  std: number[];
  /** Subtract each mel band's mean over the window's real frames from the log-mel channel
   *  first (docs/features.md). Absent: the paper's features. */
  windowMean?: boolean;
}

/** Real frames of a window: the frames before its trailing run of all-zero (padding) frames. */
export function realFrames(window: Float32Array): number {
  let t = Math.floor(window.length / FRAME_SIZE);
  for (; t > 0; t--) {
    const row = window.subarray((t - 1) * FRAME_SIZE, t * FRAME_SIZE);
    if (row.some((v) => v !== 0)) break;
  }
  return t;
}

/** The log-mel value of every band of a frame of digital silence (400 samples of exact zeros). */
const SILENT_LOG_MEL = Math.fround(Math.log(LOG_FLOOR));

/** Frame t of the window is digital silence: every band's log-mel sits exactly on the floor. */
export function isDigitalSilence(window: Float32Array, t: number): boolean {
  for (let m = 0; m < N_MELS; m++) if (window[t * FRAME_SIZE + m * N_CHANNELS] !== SILENT_LOG_MEL) return false;
  return true;
}

/**
 * Mean normalisation of the log-mel channel over a window's real frames, in place: a gain (or any
 * fixed channel response) adds a constant to each band's log energy, and this removes it. Δ and
 * ΔΔ already ignore constants. Padding frames stay zero, so the window rule is unchanged.
 *
 * Frames of digital silence (exact zeros: a muted microphone, a codec's discontinuous
 * transmission) are dropped: the frames after them move up and the window ends in that much more
 * padding. At the floor they would pull the mean down by up to 14 per band and lift every frame
 * of sound by as much, a view no training utterance gives (a model that never heard exact zeros
 * lost 10 UA points to 0.5 s of them); set to zero in place they read as padding at the start,
 * which no training window has either (docs/results.md, "Digital silence"). The training
 * corpora hold almost none once ASED's zero padding is cut (0.06 % of frames), so models trained
 * before the rule still fit.
 */
export function subtractWindowMean(window: Float32Array): Float32Array {
  const T = realFrames(window);
  if (T === 0) return window;
  const silent = new Uint8Array(T);
  const mean = new Float64Array(N_MELS);
  let n = 0;
  for (let t = 0; t < T; t++) {
    if (isDigitalSilence(window, t)) silent[t] = 1;
    else {
      for (let m = 0; m < N_MELS; m++) mean[m] += window[t * FRAME_SIZE + m * N_CHANNELS];
      n++;
    }
  }
  for (let m = 0; m < N_MELS; m++) mean[m] /= n || 1;
  let to = 0;
  for (let t = 0; t < T; t++) {
    if (silent[t]) continue;
    if (to !== t) window.copyWithin(to * FRAME_SIZE, t * FRAME_SIZE, (t + 1) * FRAME_SIZE);
    for (let m = 0; m < N_MELS; m++) window[to * FRAME_SIZE + m * N_CHANNELS] -= mean[m];
    to++;
  }
  window.fill(0, to * FRAME_SIZE, T * FRAME_SIZE);
  return window;
}

/** The window as the model sees it before z-scoring (a copy when mean normalisation applies). */
export function meanNormalized(raw: Float32Array, norm: Pick<Normalization, 'windowMean'>): Float32Array {
  return norm.windowMean ? subtractWindowMean(Float32Array.from(raw)) : raw;
}

/** A raw window → the model's input: mean normalisation where the model asks for it, then
 *  z-scoring. With out === raw it works in place (the trainer's batches), else raw is untouched. */
export function normalizeWindow(
  raw: Float32Array,
  norm: { mean: ArrayLike<number>; std: ArrayLike<number>; windowMean?: boolean },
  out = new Float32Array(WINDOW_SIZE),
): Float32Array {
  const pre = norm.windowMean && out === raw ? subtractWindowMean(raw) : meanNormalized(raw, norm);
  return normalizeFrames(pre, norm.mean, norm.std, out);
}

/** The smallest standard deviation a statistic may have: a constant feature is not blown up. */
export const MIN_STD = 1e-5;

/** Mean and standard deviation per (mel, channel) over every frame of the given feature runs. */
export function frameStats(runs: readonly { frames: number; data: Float32Array }[]): { mean: number[]; std: number[] } {
  const sum = new Float64Array(FRAME_SIZE);
  const sq = new Float64Array(FRAME_SIZE);
  let n = 0;
  for (const r of runs) {
    const d = r.data;
    for (let t = 0; t < r.frames; t++) {
      const base = t * FRAME_SIZE;
      for (let i = 0; i < FRAME_SIZE; i++) {
        const v = d[base + i];
        sum[i] += v;
        sq[i] += v * v;
      }
    }
    n += r.frames;
  }
  const mean: number[] = [];
  const std: number[] = [];
  for (let i = 0; i < FRAME_SIZE; i++) {
    const m = n ? sum[i] / n : 0;
    mean.push(m);
    std.push(n ? Math.max(MIN_STD, Math.sqrt(Math.max(0, sq[i] / n - m * m))) : 1);
  }
  return { mean, std };
}

/** z-score a window (or any whole number of frames) into out (allocated if absent). A standard
 *  deviation below MIN_STD (never stored by frameStats) leaves that feature unscaled. */
export function normalizeFrames(
  raw: Float32Array,
  mean: ArrayLike<number>,
  std: ArrayLike<number>,
  out = new Float32Array(raw.length),
): Float32Array {
  const inv = new Float32Array(FRAME_SIZE);
  for (let i = 0; i < FRAME_SIZE; i++) inv[i] = 1 / (std[i] >= MIN_STD ? std[i] : 1);
  for (let base = 0; base < raw.length; base += FRAME_SIZE) {
    for (let i = 0; i < FRAME_SIZE; i++) out[base + i] = (raw[base + i] - mean[i]) * inv[i];
  }
  return out;
}
