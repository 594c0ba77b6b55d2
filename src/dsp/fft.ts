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
    const { half: h, rev, re, im } = this;
    // Pack even samples as real parts and odd samples as imaginary parts, bit-reversed.
    for (let m = 0; m < h; m++) {
      const r = rev[m];
      re[r] = input[2 * m];
      im[r] = input[2 * m + 1];
    }
    this.transform(out);
  }

  /**
   * Power spectrum of signal[offset … offset+window.length) · window, zero-padded to `size`
   * (window.length even, ≤ size). Windowing, padding and packing in one pass.
   */
  powerWindowed(signal: Float32Array, offset: number, window: Float64Array, out: Float64Array): void {
    const { half: h, rev, re, im } = this;
    const pairs = window.length >> 1;
    for (let m = 0; m < pairs; m++) {
      const r = rev[m];
      const j = 2 * m;
      re[r] = signal[offset + j] * window[j];
      im[r] = signal[offset + j + 1] * window[j + 1];
    }
    for (let m = pairs; m < h; m++) {
      const r = rev[m];
      re[r] = 0;
      im[r] = 0;
    }
    this.transform(out);
  }

  private transform(out: Float64Array): void {
    const { half: h, re, im, cos, sin } = this;
    // First two stages together as radix-4 butterflies: their twiddles are 1 and −i, no multiplies.
    for (let a = 0; a < h; a += 4) {
      const r0 = re[a],
        i0 = im[a],
        r1 = re[a + 1],
        i1 = im[a + 1];
      const r2 = re[a + 2],
        i2 = im[a + 2],
        r3 = re[a + 3],
        i3 = im[a + 3];
      const s0r = r0 + r1,
        s0i = i0 + i1,
        d0r = r0 - r1,
        d0i = i0 - i1;
      const s1r = r2 + r3,
        s1i = i2 + i3,
        d1r = r2 - r3,
        d1i = i2 - i3;
      re[a] = s0r + s1r;
      im[a] = s0i + s1i;
      re[a + 2] = s0r - s1r;
      im[a + 2] = s0i - s1i;
      // (d1r + i·d1i)·(−i) = d1i − i·d1r
      re[a + 1] = d0r + d1i;
      im[a + 1] = d0i - d1r;
      re[a + 3] = d0r - d1i;
      im[a + 3] = d0i + d1r;
    }
    // Remaining stages two at a time (radix-2²): each pass loads and stores every value once
    // for two stages, which is what costs in V8, not the arithmetic.
    let len = 8;
    for (; len * 2 <= h; len *= 4) {
      const m = len >> 1;
      const s1 = h / len; // twiddle step of the first stage (size len)
      const s2 = s1 >> 1; // … and of the second (size 2·len)
      for (let j = 0; j < m; j++) {
        const w1r = cos[j * s1],
          w1i = sin[j * s1];
        const w2r = cos[j * s2],
          w2i = sin[j * s2];
        for (let a0 = j; a0 < h; a0 += 2 * len) {
          const a1 = a0 + m,
            a2 = a1 + m,
            a3 = a2 + m;
          const x0r = re[a0],
            x0i = im[a0],
            x2r = re[a2],
            x2i = im[a2];
          const t1r = re[a1] * w1r - im[a1] * w1i,
            t1i = re[a1] * w1i + im[a1] * w1r;
          const t3r = re[a3] * w1r - im[a3] * w1i,
            t3i = re[a3] * w1i + im[a3] * w1r;
          const b0r = x0r + t1r,
            b0i = x0i + t1i,
            b1r = x0r - t1r,
            b1i = x0i - t1i;
          const b2r = x2r + t3r,
            b2i = x2i + t3i,
            b3r = x2r - t3r,
            b3i = x2i - t3i;
          const u2r = b2r * w2r - b2i * w2i,
            u2i = b2r * w2i + b2i * w2r;
          // Second-stage twiddle of the odd pair is W·(−i): (x + iy)(−i) = y − ix.
          const u3r = b3r * w2i + b3i * w2r,
            u3i = -(b3r * w2r - b3i * w2i);
          re[a0] = b0r + u2r;
          im[a0] = b0i + u2i;
          re[a2] = b0r - u2r;
          im[a2] = b0i - u2i;
          re[a1] = b1r + u3r;
          im[a1] = b1i + u3i;
          re[a3] = b1r - u3r;
          im[a3] = b1i - u3i;
        }
      }
    }
    if (len <= h) {
      // An odd number of stages leaves one plain radix-2 stage.
      const halfLen = len >> 1;
      const step = h / len;
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
      const a = re[k1],
        b = im[k1],
        c = re[k2],
        d = im[k2];
      const er = (a + c) / 2,
        ei = (b - d) / 2;
      const or = (b + d) / 2,
        oi = -(a - c) / 2;
      const xr = er + sc[k] * or + ss[k] * oi;
      const xi = ei + sc[k] * oi - ss[k] * or;
      out[k] = xr * xr + xi * xi;
    }
  }
}
