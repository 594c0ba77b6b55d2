// Real Emo-DB speech for the benchmarks: a long 16 kHz signal made of utterances back to back
// (as a live stream would carry them) and feature windows cut from it.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';
import { computeFeatures } from '../dsp/features.js';
import { FRAME_SIZE, WINDOW_FRAMES } from '../dsp/types.js';
import { loadAudio16k } from '../dsp/load.js';

export const EMODB_DIR = fileURLToPath(new URL('../../../shared/data/emodb/wav/', import.meta.url));

/** Audio files a folder holds, at any depth, by name (the formats of src/ingest/decode.ts). */
export function audioFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (AUDIO_EXT.test(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

const AUDIO_EXT = /\.(wav|flac|mp3|ogg|oga|opus|m4a|mp4|aac|webm|aiff?)$/i;

/**
 * `seconds` of speech: the folder's files (by default Emo-DB's utterances, all speakers and
 * emotions) in a stride through their sorted names, concatenated and repeated as needed.
 */
export async function corpusSignal(seconds: number, dir = EMODB_DIR): Promise<Float32Array> {
  if (!existsSync(dir))
    throw new UserError(
      'DATA_MISSING',
      dir === EMODB_DIR
        ? `Emo-DB is not at ${dir} (the benchmarks stream real speech from it; --audio DIR streams your own)`
        : `${dir}: no such folder`,
    );
  const files = audioFiles(dir);
  if (files.length === 0) throw new UserError('DATA_MISSING', `no audio files in ${dir} (WAV, FLAC, MP3, Ogg, M4A…)`);
  const want = Math.round(seconds * 16000);
  const parts: Float32Array[] = [];
  let have = 0;
  // A stride through the sorted names mixes speakers and emotions (Emo-DB's names sort by them).
  const stride = files.length % 37 === 0 ? 1 : 37;
  const loaded = new Map<string, Float32Array>(); // a short folder is repeated: decode each file once
  for (let i = 0; have < want; i++) {
    const file = files[(i * stride) % files.length];
    const s = loaded.get(file) ?? (await loadAudio16k(file));
    loaded.set(file, s);
    if (s.length === 0 && i >= files.length) throw new UserError('DATA_MISSING', `the audio files in ${dir} hold no samples`);
    parts.push(s);
    have += s.length;
  }
  const out = new Float32Array(want);
  let o = 0;
  for (const p of parts) {
    const n = Math.min(p.length, want - o);
    out.set(p.subarray(0, n), o);
    o += n;
    if (o >= want) break;
  }
  return out;
}

/** `n` full 300-frame windows of real speech features (hop 1 s). */
export async function corpusWindows(n: number): Promise<Float32Array[]> {
  const signal = await corpusSignal(n + 3.1);
  const { frames, data } = computeFeatures(signal);
  const out: Float32Array[] = [];
  for (let s = 0; out.length < n && s + WINDOW_FRAMES <= frames; s += 100) {
    out.push(data.slice(s * FRAME_SIZE, (s + WINDOW_FRAMES) * FRAME_SIZE));
  }
  return out;
}

/** s16le bytes of a float signal. */
export function toS16le(signal: Float32Array): Buffer {
  const b = Buffer.alloc(signal.length * 2);
  for (let i = 0; i < signal.length; i++) b.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(signal[i] * 32767))), i * 2);
  return b;
}
