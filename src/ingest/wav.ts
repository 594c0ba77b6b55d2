// WAV (RIFF/WAVE) decoding: integer PCM 8/16/24/32-bit, IEEE float 32/64-bit, G.711 μ-law and
// A-law, plain or WAVE_FORMAT_EXTENSIBLE, any rate and channel count, unknown chunks skipped.
// Whole buffers (decodeWav) or a byte stream of any length (WavStreamDecoder: stdin, ffmpeg's
// output, long files read in pieces).
import { readFile } from 'node:fs/promises';
import { UserError } from '../errors.js';
import { G711_TABLES } from './g711.js';
import { containerName } from './sniff.js';
import type { AudioFormat } from './types.js';

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_ALAW = 6;
const FORMAT_MULAW = 7;
const FORMAT_EXTENSIBLE = 0xfffe;
/** Size fields some streaming writers leave when they cannot seek back: "until end of file". */
const UNKNOWN_SIZE = 0xffffffff;

export type WavSampleType = 'int' | 'float' | 'mulaw' | 'alaw';

/** Where the samples are and how to read them; no samples decoded yet. */
export interface WavLayout {
  format: AudioFormat;
  sampleType: WavSampleType;
  bitsPerSample: number;
  /** Bytes per frame (one sample of every channel). */
  blockAlign: number;
  dataOffset: number;
  /** Number of frames in the data chunk. */
  frames: number;
}

export interface DecodedAudio {
  format: AudioFormat;
  /** Interleaved, in [-1, 1] (float files are passed through as stored, except NaN/±Inf → 0). */
  samples: Float32Array;
}

function fourcc(b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3]);
}

function printable(tag: string): string {
  if (/^[\x20-\x7e]{4}$/.test(tag)) return `'${tag}'`;
  return `bytes ${Array.from(tag, (c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join(' ')}`;
}

/** Where a WAV's samples start, and how many bytes the header says they take. */
export interface WavHeader extends Omit<WavLayout, 'frames'> {
  /** Declared size of the data chunk; undefined when the writer could not know it (a pipe). */
  dataBytes: number | undefined;
}

/**
 * Reads the RIFF header and chunk list up to the start of the samples. With `final` false, `buf`
 * may be only the start of the input: undefined means "give me more bytes". Throws a coded
 * UserError naming `name` on bad input.
 */
export function parseWavHeader(buf: Uint8Array, name: string, final = true): WavHeader | undefined {
  if (buf.length < 12) {
    if (!final) return undefined;
    if (buf.length >= 4 && fourcc(buf, 0) === 'RIFF')
      throw new UserError('wav_truncated', `${name}: file ends inside the RIFF header (${buf.length} bytes)`);
    throw new UserError('wav_not_riff', `${name}: not a WAV file (${buf.length === 0 ? 'empty file' : `too short, ${buf.length} bytes`})`);
  }
  const head = fourcc(buf, 0);
  if (head === 'RIFX' || head === 'RF64') {
    throw new UserError('wav_unsupported_format', `${name}: ${head} WAV files are not supported (only little-endian RIFF)`);
  }
  if (head !== 'RIFF') {
    const kind = containerName(buf);
    if (kind)
      throw new UserError(
        'wav_not_riff',
        `${name}: not a WAV file (looks like ${kind}); convert it first, e.g. ffmpeg -i '${name}' -ar 16000 -ac 1 out.wav`,
      );
    throw new UserError('wav_not_riff', `${name}: not a WAV file (starts with ${printable(head)}, expected 'RIFF')`);
  }
  if (fourcc(buf, 8) !== 'WAVE') throw new UserError('wav_not_riff', `${name}: RIFF file of type ${printable(fourcc(buf, 8))}, not 'WAVE'`);

  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let fmt: Omit<WavLayout, 'dataOffset' | 'frames'> | undefined;
  let pos = 12;
  let truncated = false;
  for (;;) {
    if (pos + 8 > buf.length) {
      if (!final) return undefined;
      truncated = pos < buf.length;
      break;
    } // a partial chunk header at the end
    const id = fourcc(buf, pos);
    const size = view.getUint32(pos + 4, true);
    const body = pos + 8;
    if (id === 'fmt ') {
      if (size < 16) throw new UserError('wav_bad_header', `${name}: 'fmt ' chunk is ${size} bytes, at least 16 expected`);
      if (body + Math.min(size, 40) > buf.length) {
        if (!final) return undefined;
        if (body + 16 > buf.length) throw new UserError('wav_truncated', `${name}: file is truncated inside the 'fmt ' chunk`);
      }
      fmt = parseFmt(view, body, size, name);
    } else if (id === 'data') {
      if (!fmt) throw new UserError('wav_bad_header', `${name}: 'data' chunk comes before the 'fmt ' chunk`);
      // Writers that cannot seek back (pipes, ffmpeg to stdout) leave 0 or 0xffffffff: "until the end".
      const unknown = size === UNKNOWN_SIZE || size === 0;
      if (!unknown && size % fmt.blockAlign !== 0)
        throw new UserError(
          'wav_truncated',
          `${name}: data chunk of ${size} bytes ends inside a sample frame (${fmt.blockAlign} bytes per frame)`,
        );
      return { ...fmt, dataOffset: body, dataBytes: unknown ? undefined : size };
    }
    if (body + size > buf.length) {
      if (!final) return undefined;
      truncated = true;
      break;
    }
    pos = body + size + (size & 1); // chunks are padded to an even length
  }
  if (!fmt) {
    if (truncated) throw new UserError('wav_truncated', `${name}: file is truncated before its 'fmt ' chunk`);
    throw new UserError('wav_bad_header', `${name}: no 'fmt ' chunk found`);
  }
  if (truncated) throw new UserError('wav_truncated', `${name}: file is truncated before its 'data' chunk`);
  throw new UserError('wav_no_data', `${name}: no 'data' chunk found`);
}

/** The header of a whole file and the number of whole frames it holds. */
export function parseWavLayout(buf: Uint8Array, name: string): WavLayout {
  const { dataBytes, ...header } = parseWavHeader(buf, name, true)!;
  const present = buf.length - header.dataOffset;
  let bytes: number;
  if (dataBytes === undefined)
    bytes = present - (present % header.blockAlign); // a pipe-written file cut mid-frame: keep whole frames
  else if (dataBytes > present)
    throw new UserError(
      'wav_truncated',
      `${name}: file is truncated: data chunk declares ${dataBytes} bytes but only ${present} are present`,
    );
  else bytes = dataBytes;
  return { ...header, frames: bytes / header.blockAlign };
}

/**
 * A WAV arriving in pieces: push() each piece as it comes, end() at the end of the input. The
 * header is held until complete, then samples come out as soon as whole frames are in; bytes
 * after the data chunk are ignored. Memory is the header plus one partial frame.
 */
export class WavStreamDecoder {
  private head: Uint8Array | undefined = new Uint8Array(0);
  private header: WavHeader | undefined;
  private carry = new Uint8Array(0);
  private received = 0;

  constructor(private readonly name: string) {}

  /** The file's format, once the header has been read. */
  get format(): AudioFormat | undefined {
    return this.header?.format;
  }

  /** Interleaved samples of the whole frames completed by `bytes` (may be empty). */
  push(bytes: Uint8Array): Float32Array {
    if (!this.header) {
      this.head = concat(this.head!, bytes);
      if (this.head.length > MAX_HEADER_BYTES)
        throw new UserError('wav_bad_header', `${this.name}: no 'data' chunk in the first ${MAX_HEADER_BYTES / 2 ** 20} MiB`);
      this.header = parseWavHeader(this.head, this.name, false);
      if (!this.header) return new Float32Array(0);
      bytes = this.head.subarray(this.header.dataOffset);
      this.head = undefined;
    }
    const h = this.header;
    if (h.dataBytes !== undefined) bytes = bytes.subarray(0, Math.max(0, h.dataBytes - this.received));
    this.received += bytes.length;
    const all = this.carry.length ? concat(this.carry, bytes) : bytes;
    const frames = Math.floor(all.length / h.blockAlign);
    this.carry = all.slice(frames * h.blockAlign);
    return decodeWavFrames(all, { ...h, dataOffset: 0, frames }, 0, frames);
  }

  /** End of input: throws if the header never completed or the data chunk is cut short. */
  end(): void {
    if (!this.header) {
      parseWavHeader(this.head!, this.name, true); // throws the precise reason
      throw new UserError('wav_truncated', `${this.name}: input ended inside the WAV header`);
    }
    const declared = this.header.dataBytes;
    if (declared !== undefined && this.received < declared)
      throw new UserError(
        'wav_truncated',
        `${this.name}: file is truncated: data chunk declares ${declared} bytes but only ${this.received} are present`,
      );
  }
}

/** A header bigger than this (huge LIST/junk chunks before 'data') is refused rather than buffered. */
const MAX_HEADER_BYTES = 16 * 2 ** 20;

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function parseFmt(view: DataView, at: number, size: number, name: string): Omit<WavLayout, 'dataOffset' | 'frames'> {
  let tag = view.getUint16(at, true);
  const channels = view.getUint16(at + 2, true);
  const sampleRate = view.getUint32(at + 4, true);
  const blockAlign = view.getUint16(at + 12, true);
  const bitsPerSample = view.getUint16(at + 14, true);
  let containerBits = bitsPerSample;
  if (tag === FORMAT_EXTENSIBLE) {
    if (size < 40 || at + 40 > view.byteLength)
      throw new UserError('wav_truncated', `${name}: WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk is cut short`);
    // The sub-format GUID begins with the classic format tag (KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT).
    tag = view.getUint16(at + 24, true);
  }
  if (channels === 0) throw new UserError('wav_bad_header', `${name}: header declares 0 channels`);
  if (sampleRate === 0) throw new UserError('wav_bad_header', `${name}: header declares a sample rate of 0 Hz`);
  let sampleType: WavSampleType;
  if (tag === FORMAT_PCM) {
    sampleType = 'int';
    if (![8, 16, 24, 32].includes(containerBits)) {
      // Some writers put e.g. 20 valid bits in a 24-bit container; the container size is what matters.
      containerBits = (blockAlign / channels) * 8;
      if (![8, 16, 24, 32].includes(containerBits)) {
        throw new UserError('wav_unsupported_format', `${name}: ${bitsPerSample}-bit integer PCM is not supported (8, 16, 24 or 32 bits)`);
      }
    }
  } else if (tag === FORMAT_FLOAT) {
    sampleType = 'float';
    if (containerBits !== 32 && containerBits !== 64)
      throw new UserError('wav_unsupported_format', `${name}: ${bitsPerSample}-bit float is not supported (32 or 64 bits)`);
  } else if (tag === FORMAT_MULAW || tag === FORMAT_ALAW) {
    sampleType = tag === FORMAT_MULAW ? 'mulaw' : 'alaw';
    if (containerBits !== 8)
      throw new UserError('wav_unsupported_format', `${name}: ${bitsPerSample}-bit G.711 is not supported (8 bits per sample)`);
  } else {
    const known: Record<number, string> = { 2: 'MS ADPCM', 0x11: 'IMA ADPCM', 0x55: 'MP3', 0x31: 'GSM 6.10' };
    throw new UserError(
      'wav_unsupported_format',
      `${name}: ${known[tag] ?? `format tag 0x${tag.toString(16)}`} encoding is not supported (only integer PCM, IEEE float and G.711 μ-law/A-law)`,
    );
  }
  const expectAlign = (containerBits / 8) * channels;
  if (blockAlign !== expectAlign) {
    throw new UserError(
      'wav_bad_header',
      `${name}: block align ${blockAlign} does not match ${channels} channel(s) of ${containerBits}-bit samples (${expectAlign})`,
    );
  }
  return { format: { sampleRate, channels }, sampleType, bitsPerSample: containerBits, blockAlign };
}

/** Decodes `frames` frames starting at frame `first` of a parsed file into interleaved floats. */
export function decodeWavFrames(buf: Uint8Array, layout: WavLayout, first = 0, frames = layout.frames - first): Float32Array {
  const n = frames * layout.format.channels;
  const out = new Float32Array(n);
  const at = layout.dataOffset + first * layout.blockAlign;
  const view = new DataView(buf.buffer, buf.byteOffset + at, frames * layout.blockAlign);
  const bits = layout.bitsPerSample;
  if (layout.sampleType === 'mulaw' || layout.sampleType === 'alaw') {
    const table = G711_TABLES[layout.sampleType];
    const b = buf.subarray(at, at + n);
    for (let i = 0; i < n; i++) out[i] = table[b[i]];
  } else if (layout.sampleType === 'float') {
    // NaN/±Inf are never audio and would poison every feature they touch: they become silence.
    for (let i = 0; i < n; i++) {
      const v = bits === 32 ? view.getFloat32(i * 4, true) : view.getFloat64(i * 8, true);
      out[i] = v - v === 0 ? v : 0;
    }
  } else if (bits === 16) {
    for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, true) / 32768;
  } else if (bits === 8) {
    const b = buf.subarray(at, at + n);
    for (let i = 0; i < n; i++) out[i] = (b[i] - 128) / 128; // 8-bit WAV is unsigned
  } else if (bits === 24) {
    const b = buf.subarray(at, at + n * 3);
    for (let i = 0, j = 0; i < n; i++, j += 3) out[i] = (((b[j] | (b[j + 1] << 8) | (b[j + 2] << 16)) << 8) >> 8) / 8388608;
  } else {
    for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true) / 2147483648;
  }
  return out;
}

export function decodeWav(buf: Uint8Array, name: string): DecodedAudio {
  const layout = parseWavLayout(buf, name);
  return { format: layout.format, samples: decodeWavFrames(buf, layout) };
}

/** Reads a whole file; a missing or unreadable file becomes a coded UserError. */
export async function readFileBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError('file_not_found', `${path}: no such file`);
    if (code === 'EISDIR') throw new UserError('file_unreadable', `${path}: is a directory, not an audio file`);
    if (code === 'EACCES' || code === 'EPERM') throw new UserError('file_unreadable', `${path}: permission denied`);
    throw new UserError('file_unreadable', `${path}: cannot read (${(err as Error).message})`);
  }
}

export async function readWavFile(path: string): Promise<DecodedAudio> {
  return decodeWav(await readFileBytes(path), path);
}
