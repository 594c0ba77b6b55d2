// Features of whole utterances, cached on disk so repeated runs skip the front end.
// The key covers the file (path, size, mtime) and every source that shapes features (decoders,
// downmix, resampler, front end), so changing any of them invalidates the cache.
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat, writeFile, rename } from 'node:fs/promises';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readdirSync, readFileSync } from 'node:fs';
import { loadAudio16k } from '../dsp/load.js';
import { computeFeatures } from '../dsp/features.js';
import { FRAME_SIZE } from '../dsp/types.js';

export interface UtteranceFeatures {
  frames: number;
  data: Float32Array;
}

let frontEndHash: string | null = null;

/** Folders whose every source file can shape the features of a file: the decoders (ingest) and
 *  the downmix, resampler and front end (dsp), and the stage scaffold they run in (util). Hashing whole folders, not a list of files, means
 *  a new or renamed source file cannot be left out. */
export const FEATURE_SOURCE_DIRS = ['ingest', 'dsp', 'util'];

/** A hash of every source under FEATURE_SOURCE_DIRS (file names and contents, sorted). */
export function frontEndVersion(): string {
  if (frontEndHash) return frontEndHash;
  const h = createHash('sha1');
  const src = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  for (const dir of FEATURE_SOURCE_DIRS) {
    const files = readdirSync(join(src, dir), { recursive: true, encoding: 'utf8' })
      .filter((f) => /\.(ts|js)$/.test(f))
      .sort();
    for (const f of files) h.update(`${dir}/${f}\0`).update(readFileSync(join(src, dir, f)));
  }
  frontEndHash = h.digest('hex').slice(0, 12);
  return frontEndHash;
}

export function defaultCacheDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../runs/cache/features');
}

export async function utteranceFeatures(path: string, cacheDir: string | null = defaultCacheDir()): Promise<UtteranceFeatures> {
  let file: string | null = null;
  if (cacheDir) {
    const s = await stat(path);
    const key = createHash('sha1')
      .update(`${resolve(path)}|${s.size}|${s.mtimeMs}|${frontEndVersion()}`)
      .digest('hex');
    file = join(cacheDir, key.slice(0, 2), `${key}.f32`);
    try {
      const b = await readFile(file);
      const data = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      return { frames: data.length / FRAME_SIZE, data };
    } catch {
      /* not cached yet */
    }
  }
  const f = computeFeatures(await loadAudio16k(path));
  if (file) {
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    await writeFile(tmp, new Uint8Array(f.data.buffer, f.data.byteOffset, f.data.byteLength));
    await rename(tmp, file);
  }
  return f;
}
