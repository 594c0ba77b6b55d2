// Bytes → float samples for raw PCM arriving in arbitrary pieces (stdin, sockets, WebSocket
// frames): a sample or frame split across two pieces is held back until it is complete.
import { UserError } from '../errors.js';
import { G711_TABLES } from './g711.js';
import type { SampleEncoding } from './types.js';

export const BYTES_PER_SAMPLE: Record<SampleEncoding, number> = { s16le: 2, f32le: 4, mulaw: 1, alaw: 1 };
export const SAMPLE_ENCODINGS = Object.keys(BYTES_PER_SAMPLE) as SampleEncoding[];

export function isSampleEncoding(x: string): x is SampleEncoding {
  return (SAMPLE_ENCODINGS as string[]).includes(x);
}

/** Replaces NaN/±Inf (never audio; they would poison every feature they touch) by 0, in place; returns how many. */
export function sanitize(samples: Float32Array): number {
  let bad = 0;
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i];
    if (v - v !== 0) {
      samples[i] = 0;
      bad++;
    }
  }
  return bad;
}

export class PcmDecoder {
  readonly frameBytes: number;
  private readonly pending: Uint8Array;
  private pendingLen = 0;

  constructor(
    readonly encoding: SampleEncoding,
    readonly channels = 1,
  ) {
    if (!isSampleEncoding(encoding))
      throw new UserError('pcm_bad_encoding', `unknown sample encoding '${String(encoding)}' (use ${SAMPLE_ENCODINGS.join(', ')})`);
    if (!Number.isInteger(channels) || channels < 1)
      throw new UserError('pcm_bad_channels', `channel count must be a positive integer, got ${channels}`);
    this.frameBytes = BYTES_PER_SAMPLE[encoding] * channels;
    this.pending = new Uint8Array(this.frameBytes);
  }

  /** Bytes held back because they do not yet make a whole frame. */
  get pendingBytes(): number {
    return this.pendingLen;
  }

  /** Decodes every whole frame now available; the result's length is a multiple of `channels`. */
  push(bytes: Uint8Array): Float32Array {
    const fb = this.frameBytes;
    const total = this.pendingLen + bytes.length;
    const whole = total - (total % fb);
    const out = new Float32Array(whole / BYTES_PER_SAMPLE[this.encoding]);
    if (whole === 0) {
      this.pending.set(bytes, this.pendingLen);
      this.pendingLen = total;
      return out;
    }
    // Only the first frame can straddle the old remainder and the new bytes; join just that one.
    let src = bytes;
    let outAt = 0;
    if (this.pendingLen > 0) {
      const need = fb - this.pendingLen;
      this.pending.set(bytes.subarray(0, need), this.pendingLen);
      outAt = this.decodeInto(this.pending, out, 0);
      src = bytes.subarray(need);
      this.pendingLen = 0;
    }
    const usable = src.length - (src.length % fb);
    this.decodeInto(src.subarray(0, usable), out, outAt);
    const rest = src.subarray(usable);
    this.pending.set(rest, 0);
    this.pendingLen = rest.length;
    return out;
  }

  /** Call at end of stream: a partial frame left over means the stream was cut or misdeclared. */
  end(): void {
    if (this.pendingLen === 0) return;
    const n = this.pendingLen;
    this.pendingLen = 0;
    throw new UserError(
      'pcm_partial_sample',
      `PCM stream ended inside a sample frame: ${n} leftover byte(s), but ${this.encoding} with ${this.channels} channel(s) needs multiples of ${this.frameBytes} bytes`,
    );
  }

  private decodeInto(b: Uint8Array, out: Float32Array, at: number): number {
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (this.encoding === 'mulaw' || this.encoding === 'alaw') {
      const table = G711_TABLES[this.encoding];
      for (let i = 0; i < b.length; i++) out[at + i] = table[b[i]];
      return at + b.length;
    }
    if (this.encoding === 's16le') {
      const n = b.length >> 1;
      for (let i = 0; i < n; i++) out[at + i] = view.getInt16(i * 2, true) / 32768;
      return at + n;
    }
    const n = b.length >> 2;
    // Values are returned as sent, NaN/±Inf included: what to do with those (replace and report)
    // is the caller's policy (see sanitize()).
    for (let i = 0; i < n; i++) out[at + i] = view.getFloat32(i * 4, true);
    return at + n;
  }
}
