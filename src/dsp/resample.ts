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

/**
 * The filter table holds at most this many coefficients (2 MB as float64): an odd rate such as
 * 191 999 Hz (16000/191999 in lowest terms, 1208 taps) would otherwise build a 40 MB table for
 * one session. A grid of P phases rounds each output's time to 1/(2P) input samples at worst;
 * at 191 999 Hz (P = 216) that is 12 ns, a phase error of −65 dB at the 7.2 kHz pass-band edge.
 */
const MAX_TABLE = 262144;

/** The Kaiser window's I0 term sampled on a fine grid of r² (1 − r² under the root), so building
 *  a table costs one interpolation per coefficient instead of one Bessel series. */
const WINDOW_GRID = 8192;
const windowGrids = new Map<number, Float64Array>();
function kaiserGrid(beta: number): Float64Array {
  let g = windowGrids.get(beta);
  if (!g) {
    const i0b = besselI0(beta);
    g = Float64Array.from(
      { length: WINDOW_GRID + 2 },
      (_, i) => besselI0(beta * Math.sqrt(Math.max(0, 1 - Math.min(1, i / WINDOW_GRID)))) / i0b,
    );
    windowGrids.set(beta, g);
  }
  return g;
}

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

/** Tables by design: sessions at the same rates share one (they are never written after). */
const tables = new Map<string, Float64Array>();
const MAX_CACHED_TABLES = 8;

/**
 * The polyphase table: (phases + 1) rows (a rounded grid phase of exactly 1.0 is the next
 * sample's phase 0) of `taps` coefficients, each row normalised to unit DC gain so a constant
 * stays exactly constant.
 */
function filterTable(phases: number, taps: number, half: number, fc: number, radius: number, beta: number): Float64Array {
  const key = `${phases}/${taps}/${half}/${fc}/${radius}/${beta}`;
  const cached = tables.get(key);
  if (cached) return cached;
  const grid = kaiserGrid(beta);
  const table = new Float64Array((phases + 1) * taps);
  const step = 2 * Math.PI * fc; // π·x decreases by this per tap
  const sinStep = Math.sin(step),
    cosStep = Math.cos(step);
  for (let q = 0; q <= phases; q++) {
    const tau0 = q / phases + (half - 1);
    // sin(π·2fc·τ) along the row by rotation, not one Math.sin per coefficient.
    let s = Math.sin(step * tau0),
      c = Math.cos(step * tau0);
    let sum = 0;
    for (let k = 0; k < taps; k++) {
      const tau = tau0 - k;
      let v = 0;
      if (Math.abs(tau) < radius) {
        const x = step * tau;
        const sinc = Math.abs(x) < 1e-12 ? 1 : s / x;
        const r2 = (tau / radius) * (tau / radius) * WINDOW_GRID;
        const at = Math.floor(r2);
        v = 2 * fc * sinc * (grid[at] + (grid[at + 1] - grid[at]) * (r2 - at));
      }
      table[q * taps + k] = v;
      sum += v;
      [s, c] = [s * cosStep - c * sinStep, c * cosStep + s * sinStep];
    }
    for (let k = 0; k < taps; k++) table[q * taps + k] /= sum;
  }
  if (tables.size >= MAX_CACHED_TABLES) tables.delete(tables.keys().next().value!);
  tables.set(key, table);
  return table;
}

export interface ResamplerDesign {
  /** Up/down factors in lowest terms. */
  up: number;
  down: number;
  /** Taps per phase (= input samples each output reads). */
  taps: number;
  /** −6 dB cutoff, Hz. */
  cutoffHz: number;
  /** Phases the table holds (= up, or a grid of fewer when the table would be too large). */
  phases: number;
  /** Size of the filter table (shared by every resampler with the same design). */
  tableBytes: number;
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
    this.phases = Math.max(1, Math.min(this.L, MAX_PHASES, Math.floor(MAX_TABLE / this.taps) - 1));
    const beta = kaiserBeta(atten);
    this.table = filterTable(this.phases, this.taps, this.half, fc, radius, kaiserBeta(atten));
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
    this.design = {
      up: this.L,
      down: this.M,
      taps: this.taps,
      cutoffHz: fc * inRate,
      phases: this.phases,
      tableBytes: this.table.byteLength,
    };
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
