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
    if (size < 8 || (size & (size - 1)) !== 0) throw new RangeError(`FFT size must be a power of two ≥ 8, got ${size}`);
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
    // First two stages together as radix-4 butterflies: their twiddles are 1 and −i, no multiplies.
    for (let a = 0; a < h; a += 4) {
      const r0 = re[a], i0 = im[a], r1 = re[a + 1], i1 = im[a + 1];
      const r2 = re[a + 2], i2 = im[a + 2], r3 = re[a + 3], i3 = im[a + 3];
      const s0r = r0 + r1, s0i = i0 + i1, d0r = r0 - r1, d0i = i0 - i1;
      const s1r = r2 + r3, s1i = i2 + i3, d1r = r2 - r3, d1i = i2 - i3;
      re[a] = s0r + s1r; im[a] = s0i + s1i;
      re[a + 2] = s0r - s1r; im[a + 2] = s0i - s1i;
      // (d1r + i·d1i)·(−i) = d1i − i·d1r
      re[a + 1] = d0r + d1i; im[a + 1] = d0i - d1r;
      re[a + 3] = d0r - d1i; im[a + 3] = d0i + d1r;
    }
    for (let len = 8; len <= h; len <<= 1) {
      const halfLen = len >> 1;
      const step = h / len;
      // Twiddle outermost: each is loaded once per stage.
      for (let j = 0; j < halfLen; j++) {
        const wr = cos[j * step];
        const wi = sin[j * step];
        for (let a = j; a < h; a += len) {
          const b = a + halfLen;
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
