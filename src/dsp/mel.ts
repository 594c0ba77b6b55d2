// The mel filterbank of docs/features.md: HTK mel scale, triangles peaking at 1, no area
// normalisation, weights taken at the FFT bin frequencies — librosa.filters.mel(htk=True, norm=None).

export function hzToMel(f: number): number {
  return 2595 * Math.log10(1 + f / 700);
}

export function melToHz(m: number): number {
  return 700 * (Math.pow(10, m / 2595) - 1);
}

export interface MelFilterbank {
  nMels: number;
  nBins: number;
  /** Dense [nMels][nBins] weights, for inspection and tests. */
  weights: Float64Array;
  /** Per filter, the first and one-past-last bin with a non-zero weight (the hot path uses only these). */
  lo: Int32Array;
  hi: Int32Array;
  /** Band edges in Hz: nMels + 2 points, equally spaced in mel. */
  edgesHz: Float64Array;
}

export function melFilterbank(sampleRate: number, nFft: number, nMels: number, fMin = 0, fMax = sampleRate / 2): MelFilterbank {
  const nBins = nFft / 2 + 1;
  const mMin = hzToMel(fMin);
  const mMax = hzToMel(fMax);
  const edgesHz = new Float64Array(nMels + 2);
  for (let i = 0; i < nMels + 2; i++) edgesHz[i] = melToHz(mMin + ((mMax - mMin) * i) / (nMels + 1));
  const weights = new Float64Array(nMels * nBins);
  const lo = new Int32Array(nMels).fill(nBins);
  const hi = new Int32Array(nMels);
  for (let m = 0; m < nMels; m++) {
    const left = edgesHz[m],
      centre = edgesHz[m + 1],
      right = edgesHz[m + 2];
    for (let k = 0; k < nBins; k++) {
      const f = (k * sampleRate) / nFft;
      // Same expression as librosa: max(0, min(rising, falling)).
      const rising = (f - left) / (centre - left);
      const falling = (right - f) / (right - centre);
      const w = Math.max(0, Math.min(rising, falling));
      weights[m * nBins + k] = w;
      if (w > 0) {
        if (k < lo[m]) lo[m] = k;
        hi[m] = k + 1;
      }
    }
    if (hi[m] === 0) lo[m] = 0; // an empty filter (only possible with many mels and a short FFT)
  }
  return { nMels, nBins, weights, lo, hi, edgesHz };
}
