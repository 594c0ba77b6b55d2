// Does decoded raw PCM look like sound, or like bytes read with the wrong flags? Raw PCM has no
// header, so s16le read as f32le, big-endian read as little-endian, stereo read as mono at the
// wrong rate… all decode "fine" into confident nonsense. These checks look at the first second
// or so and say what looks wrong; they cannot prove the flags right.

export interface PlausibilityReport {
  /** Sentences for a person, empty when nothing looks wrong. */
  warnings: string[];
  rms: number;
  /** Mean over channels of the correlation between neighbouring samples of one channel. */
  lag1: number;
  clipped: number;
  dc: number;
}

/**
 * Checks of interleaved samples (the first ~1 s is enough). Real audio, speech above all, is
 * smooth from sample to sample (neighbouring-sample correlation well above 0.3 at any common
 * rate); bytes decoded in the wrong encoding or byte order are close to white noise (near 0).
 */
export function checkPcm(samples: Float32Array, channels: number): PlausibilityReport {
  const frames = Math.floor(samples.length / channels);
  const warnings: string[] = [];
  let sum = 0;
  let sq = 0;
  let clipped = 0;
  let outside = 0;
  for (let i = 0; i < frames * channels; i++) {
    const v = samples[i];
    sum += v;
    sq += v * v;
    if (Math.abs(v) >= 0.999) clipped++;
    if (!(Math.abs(v) <= 1)) outside++;
  }
  const n = Math.max(1, frames * channels);
  const dc = sum / n;
  const rms = Math.sqrt(sq / n);
  let lag1 = 0;
  for (let c = 0; c < channels; c++) {
    let num = 0;
    let den = 0;
    let mean = 0;
    for (let i = 0; i < frames; i++) mean += samples[i * channels + c];
    mean /= Math.max(1, frames);
    for (let i = 0; i < frames; i++) {
      const a = samples[i * channels + c] - mean;
      den += a * a;
      if (i + 1 < frames) num += a * (samples[(i + 1) * channels + c] - mean);
    }
    lag1 += den > 0 ? num / den : 1;
  }
  lag1 /= channels;
  const clipFrac = clipped / n;
  if (frames === 0) return { warnings, rms, lag1, clipped: clipFrac, dc };
  if (outside > 0) warnings.push(`${outside} sample(s) outside [-1, 1] (f32le audio should lie within it)`);
  if (rms < 1e-4) warnings.push('the input is silent (or nearly)');
  else if (lag1 < 0.3 && rms > 0.02)
    warnings.push(
      `the samples look like noise (neighbouring-sample correlation ${lag1.toFixed(2)}; audio is usually above 0.5): the encoding, byte order or channel count is probably not what was declared`,
    );
  if (clipFrac > 0.01) warnings.push(`${(clipFrac * 100).toFixed(1)} % of samples are at full scale (clipped, or the wrong encoding)`);
  if (Math.abs(dc) > 0.25)
    warnings.push(`a large DC offset (mean ${dc.toFixed(2)}): unsigned samples read as signed, or the wrong encoding`);
  return { warnings, rms, lag1, clipped: clipFrac, dc };
}
