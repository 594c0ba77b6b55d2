// Streaming rational-ratio resampler: polyphase Kaiser-windowed sinc.
//
// Output sample n sits at input time t = n·M/L (L/M = outRate/inRate in lowest terms) and is
// Σ_j x[j]·g(t − j), with g a Kaiser-windowed sinc low-pass whose stop band begins at the lower
// of the two Nyquist frequencies. Samples before the start and after the end are zeros. Every
// output is one dot product over the same samples in the same order whatever the chunking, so
// streamed output is bit-identical to resampling the whole signal at once.
import { UserError } from '../errors.js';
import { createSimdFir, type FirFn } from './simd-fir.js';

export interface ResamplerOptions {
  /** Pass-band edge as a fraction of the lower Nyquist frequency (default 0.9). */
  passband?: number;
  /** Stop-band attenuation the Kaiser design aims at, in dB (default 80). */
  attenuationDb?: number;
  /** 'auto' (default): the WebAssembly SIMD kernel where available; 'js': always the plain JS loop. */
  kernel?: 'auto' | 'js';
}

/** Above this many phases the filter table is sampled on a grid of this many phases instead. */
const MAX_PHASES = 4096;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (power series; converges fast for β ≤ 20). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 200; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

function kaiserBeta(a: number): number {
  if (a > 50) return 0.1102 * (a - 8.7);
  if (a >= 21) return 0.5842 * Math.pow(a - 21, 0.4) + 0.07886 * (a - 21);
  return 0;
}

export interface ResamplerDesign {
  /** Up/down factors in lowest terms. */
  up: number;
  down: number;
  /** Taps per phase (= input samples each output reads). */
  taps: number;
  /** −6 dB cutoff, Hz. */
  cutoffHz: number;
}

/** Input samples appended per step: bounds the buffer, so it never grows and a WASM view stays valid. */
const BLOCK = 16384;

export class Resampler {
  readonly design: ResamplerDesign;
  /** 'wasm-simd' or 'js': which dot-product kernel this instance uses. */
  readonly kernel: 'wasm-simd' | 'js';
  private readonly L: number;
  private readonly M: number;
  /** Half the taps: an output at base index i reads x[i − half + 1 … i + half]. */
  private readonly half: number;
  private readonly taps: number;
  private readonly table: Float64Array;
  private readonly phases: number;
  private readonly buf: Float32Array;
  /** WASM kernel state: its function, byte offsets of the buffer, table and output areas. */
  private readonly simd?: { fir: FirFn; out: Float32Array; bufPtr: number; tablePtr: number; outPtr: number };
  /** Absolute input index of buf[0] (negative at first: the zeros before the signal). */
  private bufStart: number;
  private bufLen: number;
  /** Input samples received so far. */
  private total = 0;
  /** Next output's base input index and phase (its time is i + p/L). */
  private i = 0;
  private p = 0;
  private ended = false;

  constructor(
    readonly inRate: number,
    readonly outRate: number,
    opts: ResamplerOptions = {},
  ) {
    for (const [what, r] of [
      ['input', inRate],
      ['output', outRate],
    ] as const) {
      if (!Number.isInteger(r) || r <= 0)
        throw new UserError('resample_bad_rate', `${what} sample rate must be a positive whole number of Hz, got ${r}`);
    }
    const g = gcd(inRate, outRate);
    this.L = outRate / g;
    this.M = inRate / g;
    const passband = opts.passband ?? 0.9;
    const atten = opts.attenuationDb ?? 80;
    // Frequencies in cycles per input sample.
    const stop = 0.5 * Math.min(1, outRate / inRate);
    const pass = passband * stop;
    const fc = (pass + stop) / 2;
    const width = stop - pass;
    const n = Math.ceil((atten - 7.95) / (2.285 * 2 * Math.PI * width)) + 1;
    const radius = n / 2; // kernel support is |τ| < radius input samples
    // Taps a multiple of 4 (for f32x4); the extra taps fall outside the support and are zero.
    this.half = 2 * Math.ceil(radius / 2);
    this.taps = 2 * this.half;
    this.phases = Math.min(this.L, MAX_PHASES);
    const beta = kaiserBeta(atten);
    const i0b = besselI0(beta);
    // phases + 1 rows so a rounded grid phase of exactly 1.0 (next sample, phase 0) is valid.
    this.table = new Float64Array((this.phases + 1) * this.taps);
    for (let q = 0; q <= this.phases; q++) {
      const frac = q / this.phases;
      let sum = 0;
      for (let k = 0; k < this.taps; k++) {
        const tau = frac + (this.half - 1) - k;
        let v = 0;
        if (Math.abs(tau) < radius) {
          const x = 2 * fc * tau;
          const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
          const r = tau / radius;
          v = 2 * fc * sinc * (besselI0(beta * Math.sqrt(1 - r * r)) / i0b);
        }
        this.table[q * this.taps + k] = v;
        sum += v;
      }
      // Unit DC gain for every phase, so a constant stays exactly constant.
      for (let k = 0; k < this.taps; k++) this.table[q * this.taps + k] /= sum;
    }
    const bufCap = BLOCK + this.taps + 8;
    const outCap = Math.ceil(((BLOCK + this.taps + 8) * this.L) / this.M) + 2;
    // The WASM kernel indexes phases exactly, so it serves every ratio with L ≤ MAX_PHASES.
    const fir = opts.kernel !== 'js' && this.phases === this.L ? createSimdFir() : undefined;
    if (fir) {
      const tableBytes = this.phases * this.taps * 4;
      const tablePtr = 0,
        bufPtr = tableBytes,
        outPtr = bufPtr + bufCap * 4;
      const need = outPtr + outCap * 4;
      const have = fir.memory.buffer.byteLength;
      if (need > have) fir.memory.grow(Math.ceil((need - have) / 65536));
      new Float32Array(fir.memory.buffer, tablePtr, this.phases * this.taps).set(this.table.subarray(0, this.phases * this.taps));
      this.buf = new Float32Array(fir.memory.buffer, bufPtr, bufCap);
      this.simd = { fir: fir.fir, out: new Float32Array(fir.memory.buffer, outPtr, outCap), bufPtr, tablePtr, outPtr };
      this.kernel = 'wasm-simd';
    } else {
      this.buf = new Float32Array(bufCap);
      this.kernel = 'js';
    }
    this.bufStart = -(this.half - 1);
    this.bufLen = this.half - 1; // zeros before the signal
    this.design = { up: this.L, down: this.M, taps: this.taps, cutoffHz: fc * inRate };
  }

  /** Number of output samples a whole signal of `inputLength` samples gives: ceil(N·L/M). */
  static outputLength(inputLength: number, inRate: number, outRate: number): number {
    const g = gcd(inRate, outRate);
    return Math.ceil((inputLength * (outRate / g)) / (inRate / g));
  }

  /** Feeds input; returns every output sample that no longer depends on future input. */
  process(input: Float32Array): Float32Array {
    if (this.ended) throw new Error('Resampler.process after flush');
    const parts: Float32Array[] = [];
    for (let at = 0; at < input.length; at += BLOCK) {
      const block = input.subarray(at, at + BLOCK);
      this.append(block);
      this.total += block.length;
      parts.push(this.produce(this.total - 1 - this.half));
    }
    return concat(parts);
  }

  /** End of signal: the rest of the outputs, with zeros standing in for samples past the end. */
  flush(): Float32Array {
    if (this.ended) return new Float32Array(0);
    this.ended = true;
    this.append(new Float32Array(this.half + 1));
    return this.produce(this.total - 1);
  }

  private append(x: Float32Array): void {
    if (this.bufLen + x.length > this.buf.length) {
      // Drop what no future output reads (at most taps − 1 samples are kept, so a block fits).
      const keepFrom = this.i - this.half + 1 - this.bufStart;
      this.buf.copyWithin(0, keepFrom, this.bufLen);
      this.bufLen -= keepFrom;
      this.bufStart += keepFrom;
    }
    this.buf.set(x, this.bufLen);
    this.bufLen += x.length;
  }

  /** Emits outputs while their base index i ≤ lastBase. */
  private produce(lastBase: number): Float32Array {
    if (this.i > lastBase) return new Float32Array(0);
    const { L, M, taps, table, buf, half } = this;
    // Count first so the output is allocated once.
    const count = Math.floor(((lastBase - this.i) * L + (L - 1 - this.p)) / M) + 1;
    if (this.simd) {
      const s = this.simd;
      s.fir(s.outPtr, s.bufPtr, s.tablePtr, count, this.i - half + 1 - this.bufStart, this.p, L, M, taps);
      const adv = this.p + count * M;
      this.i += Math.floor(adv / L);
      this.p = adv % L;
      return s.out.slice(0, count);
    }
    const out = new Float32Array(count);
    let i = this.i;
    let p = this.p;
    const exact = this.phases === L;
    const scale = this.phases / L;
    for (let n = 0; n < count; n++) {
      const row = (exact ? p : Math.round(p * scale)) * taps;
      const off = i - half + 1 - this.bufStart;
      // Four partial sums break the add-latency chain (several times faster in V8); the order
      // is fixed, so results still do not depend on chunking.
      let a0 = 0,
        a1 = 0,
        a2 = 0,
        a3 = 0;
      for (let k = 0; k < taps; k += 4) {
        a0 += buf[off + k] * table[row + k];
        a1 += buf[off + k + 1] * table[row + k + 1];
        a2 += buf[off + k + 2] * table[row + k + 2];
        a3 += buf[off + k + 3] * table[row + k + 3];
      }
      out[n] = a0 + a1 + (a2 + a3);
      p += M;
      if (p >= L) {
        i += Math.floor(p / L);
        p %= L;
      }
    }
    this.i = i;
    this.p = p;
    return out;
  }
}

function concat(parts: Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0];
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Resamples a whole signal (same arithmetic as streaming it). */
export function resample(signal: Float32Array, inRate: number, outRate: number, opts?: ResamplerOptions): Float32Array {
  if (inRate === outRate) return signal.slice();
  const r = new Resampler(inRate, outRate, opts);
  return concat([r.process(signal), r.flush()]);
}
