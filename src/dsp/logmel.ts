// One 25 ms frame → 40 log-mel energies, exactly as docs/features.md defines them.
import { RealFft } from './fft.js';
import { melFilterbank, type MelFilterbank } from './mel.js';
import { FRAME_LENGTH, N_MELS, SAMPLE_RATE } from './types.js';

export const N_FFT = 512;
export const LOG_FLOOR = 1e-6;

let sharedBank: MelFilterbank | undefined;
/** The front end's filterbank (16 kHz, 512-point FFT, 40 mels, 0–8000 Hz). */
export function frontEndFilterbank(): MelFilterbank {
  return (sharedBank ??= melFilterbank(SAMPLE_RATE, N_FFT, N_MELS, 0, SAMPLE_RATE / 2));
}

let sharedWindow: Float64Array | undefined;
/** Symmetric Hamming window of 400 points: 0.54 − 0.46·cos(2πn/399). */
export function hammingWindow(): Float64Array {
  if (!sharedWindow) {
    sharedWindow = new Float64Array(FRAME_LENGTH);
    for (let n = 0; n < FRAME_LENGTH; n++) sharedWindow[n] = 0.54 - 0.46 * Math.cos((2 * Math.PI * n) / (FRAME_LENGTH - 1));
  }
  return sharedWindow;
}

/** Reusable scratch for log-mel frames; one per stream (not shareable across concurrent users). */
export class LogMelAnalyzer {
  private readonly fft = new RealFft(N_FFT);
  private readonly power = new Float64Array(N_FFT / 2 + 1);
  private readonly window = hammingWindow();
  private readonly bank = frontEndFilterbank();

  /** Log-mel of signal[offset … offset+400) into out[outOffset … outOffset+40). */
  compute(signal: Float32Array, offset: number, out: Float64Array, outOffset = 0): void {
    const { window, power, bank } = this;
    this.fft.powerWindowed(signal, offset, window, power);
    const { weights, lo, hi, nBins } = bank;
    for (let m = 0; m < N_MELS; m++) {
      let e = 0;
      const row = m * nBins;
      for (let k = lo[m]; k < hi[m]; k++) e += weights[row + k] * power[k];
      out[outOffset + m] = Math.log(e + LOG_FLOOR);
    }
  }
}
