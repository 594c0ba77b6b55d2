// Power spectrum of a real frame: an N-point real FFT done as an N/2-point complex radix-2 FFT
// plus the usual split step. Tables are built once; transforms allocate nothing.

export class RealFft {
  readonly size: number;
  private readonly half: number;
  private readonly rev: Uint32Array;
  /** cos/sin of −2πk/half, for the complex FFT's butterflies. */
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  /** cos/sin of 2πk/size, for the split step. */
  private readonly splitCos: Float64Array;
  private readonly splitSin: Float64Array;
  private readonly re: Float64Array;
  private readonly im: Float64Array;

  constructor(size: number) {
    if (size < 4 || (size & (size - 1)) !== 0) throw new RangeError(`FFT size must be a power of two ≥ 4, got ${size}`);
    this.size = size;
    const h = (this.half = size >> 1);
    const bits = Math.log2(h);
    this.rev = new Uint32Array(h);
    for (let i = 0; i < h; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.rev[i] = r;
    }
    this.cos = new Float64Array(h / 2 || 1);
    this.sin = new Float64Array(h / 2 || 1);
    for (let k = 0; k < h / 2; k++) {
      this.cos[k] = Math.cos((2 * Math.PI * k) / h);
      this.sin[k] = -Math.sin((2 * Math.PI * k) / h);
    }
    this.splitCos = new Float64Array(h + 1);
    this.splitSin = new Float64Array(h + 1);
    for (let k = 0; k <= h; k++) {
      this.splitCos[k] = Math.cos((2 * Math.PI * k) / size);
      this.splitSin[k] = Math.sin((2 * Math.PI * k) / size);
    }
    this.re = new Float64Array(h);
    this.im = new Float64Array(h);
  }

  /** out[k] = |X_k|² for k = 0…size/2, X the DFT of `input` (length `size`). */
  power(input: Float64Array, out: Float64Array): void {
    const { half: h, rev, re, im, cos, sin } = this;
    // Pack even samples as real parts and odd samples as imaginary parts, bit-reversed.
    for (let m = 0; m < h; m++) {
      const r = rev[m];
      re[r] = input[2 * m];
      im[r] = input[2 * m + 1];
    }
    for (let len = 2; len <= h; len <<= 1) {
      const halfLen = len >> 1;
      const step = h / len;
      for (let start = 0; start < h; start += len) {
        for (let j = 0, t = 0; j < halfLen; j++, t += step) {
          const a = start + j;
          const b = a + halfLen;
          const wr = cos[t];
          const wi = sin[t];
          const xr = re[b] * wr - im[b] * wi;
          const xi = re[b] * wi + im[b] * wr;
          re[b] = re[a] - xr;
          im[b] = im[a] - xi;
          re[a] += xr;
          im[a] += xi;
        }
      }
    }
    // Split: X[k] = E[k] + e^{−2πik/N}·O[k], with E, O the spectra of the even and odd samples.
    const sc = this.splitCos;
    const ss = this.splitSin;
    for (let k = 0; k <= h; k++) {
      const k1 = k === h ? 0 : k;
      const k2 = k === 0 ? 0 : h - k;
      const a = re[k1], b = im[k1], c = re[k2], d = im[k2];
      const er = (a + c) / 2, ei = (b - d) / 2;
      const or = (b + d) / 2, oi = -(a - c) / 2;
      const xr = er + sc[k] * or + ss[k] * oi;
      const xi = ei + sc[k] * oi - ss[k] * or;
      out[k] = xr * xr + xi * xi;
    }
  }
}
