// WAV (RIFF/WAVE) decoding: integer PCM 8/16/24/32-bit, IEEE float 32/64-bit, plain or
// WAVE_FORMAT_EXTENSIBLE, any rate and channel count, unknown chunks skipped.
import { readFile } from 'node:fs/promises';
import { UserError } from '../errors.js';
import type { AudioFormat } from './types.js';

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;
/** Size fields some streaming writers leave when they cannot seek back: "until end of file". */
const UNKNOWN_SIZE = 0xffffffff;

export type WavSampleType = 'int' | 'float';

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

/** Names common non-WAV audio containers, so the error can say what the file is. */
function sniff(b: Uint8Array): string | undefined {
  const t4 = fourcc(b, 0);
  if (t4.startsWith('ID3') || (b[0] === 0xff && (b[1] & 0xe0) === 0xe0 && (b[1] & 0x06) !== 0)) return 'MP3';
  if (t4 === 'OggS') return 'Ogg (Vorbis/Opus)';
  if (t4 === 'fLaC') return 'FLAC';
  if (t4 === 'FORM') return 'AIFF';
  if (b.length >= 8 && fourcc(b, 4) === 'ftyp') return 'MP4/M4A';
  if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return 'WebM/Matroska';
  return undefined;
}

/** Reads the RIFF header and chunk list; throws a coded UserError naming `name` on bad input. */
export function parseWavLayout(buf: Uint8Array, name: string): WavLayout {
  if (buf.length < 12) {
    if (buf.length >= 4 && fourcc(buf, 0) === 'RIFF')
      throw new UserError('wav_truncated', `${name}: file ends inside the RIFF header (${buf.length} bytes)`);
    throw new UserError('wav_not_riff', `${name}: not a WAV file (${buf.length === 0 ? 'empty file' : `too short, ${buf.length} bytes`})`);
  }
  const head = fourcc(buf, 0);
  if (head === 'RIFX' || head === 'RF64') {
    throw new UserError('wav_unsupported_format', `${name}: ${head} WAV files are not supported (only little-endian RIFF)`);
  }
  if (head !== 'RIFF') {
    const kind = sniff(buf);
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
      truncated = pos < buf.length;
      break;
    } // a partial chunk header at the end
    const id = fourcc(buf, pos);
    const size = view.getUint32(pos + 4, true);
    const body = pos + 8;
    if (id === 'fmt ') {
      if (size < 16) throw new UserError('wav_bad_header', `${name}: 'fmt ' chunk is ${size} bytes, at least 16 expected`);
      if (body + 16 > buf.length) throw new UserError('wav_truncated', `${name}: file is truncated inside the 'fmt ' chunk`);
      fmt = parseFmt(view, body, size, name);
    } else if (id === 'data') {
      if (!fmt) throw new UserError('wav_bad_header', `${name}: 'data' chunk comes before the 'fmt ' chunk`);
      let bytes = size;
      const streamed = size === UNKNOWN_SIZE || (size === 0 && buf.length > body);
      if (streamed) bytes = buf.length - body;
      else if (body + size > buf.length) {
        throw new UserError(
          'wav_truncated',
          `${name}: file is truncated: data chunk declares ${size} bytes but only ${buf.length - body} are present`,
        );
      }
      if (bytes % fmt.blockAlign !== 0) {
        if (streamed)
          bytes -= bytes % fmt.blockAlign; // a pipe-written file cut mid-frame: keep whole frames
        else
          throw new UserError(
            'wav_truncated',
            `${name}: data chunk of ${bytes} bytes ends inside a sample frame (${fmt.blockAlign} bytes per frame)`,
          );
      }
      return { ...fmt, dataOffset: body, frames: bytes / fmt.blockAlign };
    }
    if (body + size > buf.length) {
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
  } else {
    const known: Record<number, string> = { 2: 'MS ADPCM', 6: 'A-law', 7: 'µ-law', 0x11: 'IMA ADPCM', 0x55: 'MP3', 0x31: 'GSM 6.10' };
    throw new UserError(
      'wav_unsupported_format',
      `${name}: ${known[tag] ?? `format tag 0x${tag.toString(16)}`} encoding is not supported (only integer PCM and IEEE float)`,
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
  if (layout.sampleType === 'float') {
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
