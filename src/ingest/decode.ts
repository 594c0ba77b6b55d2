// Any supported audio file or byte stream → chunks of float samples, decoded as the bytes
// arrive (memory does not grow with the length of the input). The first bytes say what it is:
//   WAV (PCM, float, G.711)            our own parser (wav.ts)
//   FLAC, MP3, Ogg Opus, Ogg Vorbis    WebAssembly builds of libFLAC, mpg123, libopus and libvorbis
//                                      (the wasm-audio-decoders packages): no system dependency
//   MP4/M4A, AAC, WebM, AIFF, …        Debian's ffmpeg when installed (a child process that
//                                      writes WAV to a pipe), else a coded error naming it
// docs/formats.md has the measurements behind this split.
import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import { UserError } from '../errors.js';
import { kindName, sniffContainer, SNIFF_BYTES, type ContainerKind } from './sniff.js';
import type { AudioChunk, AudioFormat } from './types.js';
import { WavStreamDecoder, type DecodedAudio } from './wav.js';

export interface DecodeOptions {
  /** Non-fatal problems (a corrupt frame skipped); the default ignores them. */
  onWarning?(message: string): void;
  /** The file the bytes came from, when there is one: ffmpeg then reads it itself (MP4 needs to seek). */
  path?: string;
  /** Decode every format through ffmpeg, WAV included (for comparisons: src/bench/decode.ts). */
  ffmpegOnly?: boolean;
}

/** The formats decoded without ffmpeg, for messages. */
export const BUILTIN_FORMATS = 'WAV (PCM, float, μ-law, A-law), FLAC, MP3, Ogg Opus and Ogg Vorbis';

/** The ffmpeg binary: EMOSTREAM_FFMPEG, else `ffmpeg` on the PATH. */
export function ffmpegCommand(): string {
  return process.env.EMOSTREAM_FFMPEG || 'ffmpeg';
}

/**
 * The first `n` bytes of a byte stream (fewer if it ends first), and the whole stream again
 * (those bytes included) to read on; `input.return()` releases the source.
 */
export async function peekBytes(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  n: number,
): Promise<{ head: Uint8Array; rest: AsyncIterable<Uint8Array>; input: AsyncIterator<Uint8Array> }> {
  const input =
    Symbol.asyncIterator in source
      ? source[Symbol.asyncIterator]()
      : (async function* () {
          yield* source;
        })();
  let head: Uint8Array = new Uint8Array(0);
  let ended = false;
  while (head.length < n) {
    const r = await input.next();
    if (r.done) {
      ended = true;
      break;
    }
    head = concatBytes(head, r.value);
  }
  const rest: AsyncIterable<Uint8Array> = {
    async *[Symbol.asyncIterator]() {
      if (head.length) yield head;
      if (ended) return;
      for (let r = await input.next(); !r.done; r = await input.next()) yield r.value;
    },
  };
  return { head, rest, input };
}

/** Decodes a byte stream of any supported format; `name` names it in errors. */
export async function* decodeAudio(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  name: string,
  opts: DecodeOptions = {},
): AsyncGenerator<AudioChunk> {
  const { head, rest, input } = await peekBytes(source, SNIFF_BYTES);
  try {
    yield* dispatch(sniffContainer(head), head, rest, name, opts);
  } finally {
    await input.return?.(); // stopped early or failed: close the file
  }
}

async function* dispatch(
  kind: ContainerKind | undefined,
  head: Uint8Array,
  rest: AsyncIterable<Uint8Array>,
  name: string,
  opts: DecodeOptions,
): AsyncGenerator<AudioChunk> {
  if (kind === undefined) {
    const what = head.length === 0 ? 'empty input' : `starts with ${describeStart(head)}`;
    throw new UserError(
      'audio_unknown_format',
      `${name}: not a recognised audio file (${what}); emostream reads ${BUILTIN_FORMATS}, and M4A/AAC/WebM with ffmpeg installed`,
    );
  }
  if (opts.ffmpegOnly) {
    yield* decodeFfmpeg(kind, rest, name, opts);
    return;
  }
  switch (kind) {
    case 'wav':
      yield* decodeWavStream(rest, name);
      return;
    case 'flac':
    case 'mp3':
    case 'ogg-opus':
    case 'ogg-vorbis':
      yield* decodeWasm(kind, rest, name, opts);
      return;
    default:
      yield* decodeFfmpeg(kind, rest, name, opts);
  }
}

function describeStart(b: Uint8Array): string {
  const t = String.fromCharCode(...b.subarray(0, 4));
  if (/^[\x20-\x7e]{4}$/.test(t)) return `'${t}'`;
  return `bytes ${Array.from(b.subarray(0, 4), (c) => c.toString(16).padStart(2, '0')).join(' ')}`;
}

async function* decodeWavStream(source: AsyncIterable<Uint8Array>, name: string): AsyncGenerator<AudioChunk> {
  const wav = new WavStreamDecoder(name);
  let any = false;
  for await (const bytes of source) {
    const samples = wav.push(bytes);
    if (samples.length) {
      any = true;
      yield { format: wav.format!, samples };
    }
  }
  wav.end();
  if (!any) yield { format: wav.format!, samples: new Float32Array(0) }; // a valid file of 0 frames still has a format
}

/** What every wasm-audio-decoders decoder returns. */
interface WasmDecoded {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
  errors: { message: string }[];
}
interface WasmDecoder {
  ready: Promise<void>;
  decode(bytes: Uint8Array): WasmDecoded | Promise<WasmDecoded>;
  flush?(): Promise<WasmDecoded>;
  reset(): Promise<void>;
  free(): void;
}

type WasmKind = 'flac' | 'mp3' | 'ogg-opus' | 'ogg-vorbis';

/**
 * Idle decoders kept for the next file: making one (instantiating its WebAssembly module) costs
 * about 100 ms, which a corpus of short files would pay per file; reset() makes one as new.
 */
const idle: Record<WasmKind, WasmDecoder[]> = { flac: [], mp3: [], 'ogg-opus': [], 'ogg-vorbis': [] };
const MAX_IDLE = 4;

async function acquire(kind: WasmKind): Promise<WasmDecoder> {
  const d = idle[kind].pop() ?? (await wasmDecoder(kind));
  await d.ready;
  return d;
}

/** A decoder that finished its input cleanly goes back to the pool; one that failed is freed. */
async function release(kind: WasmKind, d: WasmDecoder, clean: boolean): Promise<void> {
  if (clean && idle[kind].length < MAX_IDLE) {
    try {
      await d.reset();
      idle[kind].push(d);
      return;
    } catch {
      // fall through: free it
    }
  }
  d.free();
}

/** Loaded on first use, so a WAV-only run never pays for the WebAssembly modules. */
async function wasmDecoder(kind: WasmKind): Promise<WasmDecoder> {
  switch (kind) {
    case 'flac':
      return new (await import('@wasm-audio-decoders/flac')).FLACDecoder();
    case 'mp3':
      return new (await import('mpg123-decoder')).MPEGDecoder();
    case 'ogg-opus':
      return new (await import('ogg-opus-decoder')).OggOpusDecoder();
    case 'ogg-vorbis':
      return new (await import('@wasm-audio-decoders/ogg-vorbis')).OggVorbisDecoder();
  }
}

/** The decoders take this much at a time; more only makes bigger chunks. */
const WASM_PIECE = 64 * 1024;

async function* decodeWasm(
  kind: 'flac' | 'mp3' | 'ogg-opus' | 'ogg-vorbis',
  source: AsyncIterable<Uint8Array>,
  name: string,
  opts: DecodeOptions,
): AsyncGenerator<AudioChunk> {
  const decoder = await acquire(kind);
  let clean = false;
  // mpg123-decoder always returns two channels; a mono MP3 keeps one (its frame header says which).
  let mp3Head: Uint8Array | undefined = kind === 'mp3' ? new Uint8Array(0) : undefined;
  let mono = false;
  let format: AudioFormat | undefined;
  let frames = 0;
  let errors = 0;
  let firstError = '';
  const take = (d: WasmDecoded): AudioChunk | undefined => {
    for (const e of d.errors) {
      if (!errors++) firstError = e.message;
      opts.onWarning?.(`${name}: ${kindName(kind)} decoder skipped bad data (${e.message})`);
    }
    if (d.samplesDecoded === 0 || d.channelData.length === 0) return undefined;
    const planes = mono ? d.channelData.slice(0, 1) : d.channelData;
    const channels = planes.length;
    if (!format) format = { sampleRate: d.sampleRate, channels };
    else if (format.sampleRate !== d.sampleRate || format.channels !== channels)
      throw new UserError(
        'audio_format_changed',
        `${name}: the stream changes format midway (${format.sampleRate} Hz × ${format.channels} → ${d.sampleRate} Hz × ${channels}); split it first`,
      );
    if (kind === 'flac') toIntegerScale(planes, d.samplesDecoded, (d as WasmDecoded & { bitDepth: number }).bitDepth);
    frames += d.samplesDecoded;
    return { format, samples: interleave(planes, d.samplesDecoded) };
  };
  try {
    for await (const bytes of source) {
      if (mp3Head) {
        mp3Head = concatBytes(mp3Head, bytes);
        const ch = mpegChannels(mp3Head);
        if (ch !== undefined || mp3Head.length > MP3_HEAD_LIMIT) {
          mono = ch === 1;
          mp3Head = undefined;
        }
      }
      for (let at = 0; at < bytes.length; at += WASM_PIECE) {
        const chunk = take(await decoder.decode(bytes.subarray(at, at + WASM_PIECE)));
        if (chunk) yield chunk;
      }
    }
    if (decoder.flush) {
      const chunk = take(await decoder.flush());
      if (chunk) yield chunk;
    }
    clean = true;
  } finally {
    await release(kind, decoder, clean);
  }
  if (frames === 0)
    throw new UserError(
      'audio_decode_failed',
      `${name}: no audio could be decoded from this ${kindName(kind)} input${errors ? ` (${firstError})` : ''}`,
    );
}

/** How far into an MP3 to look for its first frame header (past a large ID3 tag with cover art). */
const MP3_HEAD_LIMIT = 4 * 2 ** 20;

/** Channels of an MPEG audio stream from its first frame header (after any ID3v2 tag); undefined until seen. */
export function mpegChannels(b: Uint8Array): 1 | 2 | undefined {
  let at = 0;
  if (b.length >= 10 && b[0] === 0x49 && b[1] === 0x44 && b[2] === 0x33) {
    const size = ((b[6] & 0x7f) << 21) | ((b[7] & 0x7f) << 14) | ((b[8] & 0x7f) << 7) | (b[9] & 0x7f);
    at = 10 + size + (b[5] & 0x10 ? 10 : 0); // a footer repeats the header
  }
  for (; at + 4 <= b.length; at++) {
    // 11 sync bits, a version other than "reserved", a layer, a bitrate and rate index in range.
    if (b[at] !== 0xff || (b[at + 1] & 0xe0) !== 0xe0) continue;
    if ((b[at + 1] & 0x18) === 0x08 || (b[at + 1] & 0x06) === 0) continue;
    if (b[at + 2] >> 4 === 15 || ((b[at + 2] >> 2) & 3) === 3) continue;
    return b[at + 3] >> 6 === 3 ? 1 : 2;
  }
  return undefined;
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * libFLAC's WebAssembly build divides b-bit integers by 2^(b−1) − 1; WAV (and everything else
 * here) divides by 2^(b−1). Undo the one and apply the other, so a FLAC and the WAV it was made
 * from give identical samples.
 */
function toIntegerScale(planes: Float32Array[], frames: number, bits: number): void {
  if (!(bits >= 8 && bits <= 32)) return;
  const full = 2 ** (bits - 1);
  for (const p of planes) for (let i = 0; i < frames; i++) p[i] = Math.round(p[i] * (full - 1)) / full;
}

function interleave(planes: Float32Array[], frames: number): Float32Array {
  if (planes.length === 1) return planes[0].length === frames ? planes[0] : planes[0].slice(0, frames);
  const c = planes.length;
  const out = new Float32Array(frames * c);
  for (let ch = 0; ch < c; ch++) {
    const p = planes[ch];
    for (let i = 0; i < frames; i++) out[i * c + ch] = p[i];
  }
  return out;
}

/**
 * Formats we do not decode ourselves, through ffmpeg: it writes 32-bit float WAV at the input's
 * own rate and channels to a pipe, which the WAV stream decoder reads (so our resampler, not
 * ffmpeg's, makes the 16 kHz signal, exactly as for every other format).
 */
async function* decodeFfmpeg(
  kind: ContainerKind,
  source: AsyncIterable<Uint8Array>,
  name: string,
  opts: DecodeOptions,
): AsyncGenerator<AudioChunk> {
  const cmd = ffmpegCommand();
  const fromFile = opts.path !== undefined;
  const args = [
    '-nostdin',
    '-hide_banner',
    '-loglevel',
    'error',
    '-i',
    fromFile ? opts.path! : 'pipe:0',
    '-vn',
    '-c:a',
    'pcm_f32le',
    '-f',
    'wav',
    'pipe:1',
  ];
  const child = spawn(cmd, args, { stdio: [fromFile ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  try {
    await spawned;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new UserError(
        'decoder_missing',
        `${name}: ${kindName(kind)} is decoded with ffmpeg, which is not installed (Debian/Ubuntu: apt-get install ffmpeg; or set EMOSTREAM_FFMPEG); without it emostream reads ${BUILTIN_FORMATS}`,
      );
    throw new UserError('decoder_failed', `${name}: could not start ${cmd}: ${(err as Error).message}`);
  }
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => {
    if (stderr.length < 4096) stderr += b.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  if (!fromFile) {
    // Feed our input to ffmpeg; it may stop reading early (an error): that is not ours to report.
    const stdin = child.stdin!;
    stdin.on('error', () => {});
    void (async () => {
      try {
        for await (const bytes of source) if (!stdin.write(bytes)) await new Promise((r) => stdin.once('drain', r));
      } catch {
        // the source failed; ffmpeg sees a cut input and says so
      }
      stdin.end();
    })();
  }
  const wav = new WavStreamDecoder(`${name} (via ffmpeg)`);
  let done = false;
  try {
    for await (const bytes of child.stdout!) {
      const samples = wav.push(bytes as Uint8Array);
      if (samples.length) yield { format: wav.format!, samples };
    }
    const code = await exited;
    done = true;
    if (code !== 0) {
      const why = stderr.trim().split('\n').pop() || `exit code ${code}`;
      throw new UserError('audio_decode_failed', `${name}: ffmpeg could not decode this ${kindName(kind)} input: ${why}`);
    }
    if (stderr.trim()) opts.onWarning?.(`${name}: ffmpeg: ${stderr.trim().split('\n').pop()}`);
    wav.end();
  } finally {
    if (!done) child.kill();
  }
}

/** A file's bytes in pieces, with coded errors for a missing or unreadable file. */
export async function* readFileChunks(path: string, pieceBytes = 256 * 1024): AsyncGenerator<Uint8Array> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw fileError(path, err);
  }
  try {
    for (;;) {
      const buf = new Uint8Array(pieceBytes);
      let n: number;
      try {
        ({ bytesRead: n } = await handle.read(buf, 0, pieceBytes, null));
      } catch (err) {
        throw fileError(path, err);
      }
      if (n === 0) return;
      yield n === pieceBytes ? buf : buf.subarray(0, n);
    }
  } finally {
    await handle.close();
  }
}

export function fileError(path: string, err: unknown): UserError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new UserError('file_not_found', `${path}: no such file`);
  if (code === 'EISDIR') return new UserError('file_unreadable', `${path}: is a directory, not an audio file`);
  if (code === 'EACCES' || code === 'EPERM') return new UserError('file_unreadable', `${path}: permission denied`);
  return new UserError('file_unreadable', `${path}: cannot read (${(err as Error).message})`);
}

/** An audio file of any supported format, decoded as it is read. */
export function decodeAudioFile(path: string, opts: DecodeOptions = {}): AsyncGenerator<AudioChunk> {
  return decodeAudio(readFileChunks(path), path, { ...opts, path });
}

/** A whole audio file of any supported format, decoded into memory (short files: training, features). */
export async function readAudioFile(path: string, opts: DecodeOptions = {}): Promise<DecodedAudio> {
  return collect(decodeAudioFile(path, opts), path);
}

/** Every chunk of a decoded stream in one buffer. */
export async function collect(chunks: AsyncIterable<AudioChunk>, name: string): Promise<DecodedAudio> {
  const parts: Float32Array[] = [];
  let format: AudioFormat | undefined;
  let n = 0;
  for await (const c of chunks) {
    format ??= c.format;
    parts.push(c.samples);
    n += c.samples.length;
  }
  if (!format) throw new UserError('audio_empty', `${name}: holds no audio samples`);
  const samples = parts.length === 1 ? parts[0] : new Float32Array(n);
  if (parts.length > 1) {
    let at = 0;
    for (const p of parts) {
      samples.set(p, at);
      at += p.length;
    }
  }
  return { format, samples };
}
