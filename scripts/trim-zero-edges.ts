// Drops the zero padding at both ends of every WAV under the given folders, in place: a run of
// digital silence (frames whose every sample is exactly 0) of at least 100 ms before the first
// or after the last sound. Shorter runs are a recorder's first or last samples and stay (cutting them would
// move every frame of the file for nothing). Run by scripts/prepare-corpora.sh on each corpus it
// prepares; running it again changes nothing.
//
// Why: ASED v1 pads its recordings with exact zeros to 3 s (2142 of its 2474 files, 29 % of its
// audio). No other corpus does, and no microphone records it: a model learns the padding as a
// sign of the corpus, and a model that never heard ASED misreads it (the leave-one-corpus-out
// ASED fold: UA 36.2 % on the padded files, 42.0 % with the padding cut; docs/data.md).
//
//   node --import tsx scripts/trim-zero-edges.ts DIR... [--dry-run]
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseWavLayout, type WavLayout } from '../src/ingest/wav.js';

/** Shortest edge run of digital silence that counts as padding, seconds. */
export const MIN_PADDING_S = 0.1;

/** The frames [first, end) left when edge runs of digital silence of at least minFrames are cut;
 *  first = end when the file is silent throughout. */
export function nonPaddedSpan(bytes: Uint8Array, layout: WavLayout, minFrames: number): { first: number; end: number } {
  const { dataOffset, blockAlign, frames } = layout;
  // Zero is byte 0x80 in 8-bit PCM (unsigned), all-zero bytes in every other linear PCM.
  const zero = layout.sampleType === 'int' && layout.bitsPerSample === 8 ? 0x80 : 0;
  const silent = (f: number) => {
    for (let b = dataOffset + f * blockAlign, e = b + blockAlign; b < e; b++) if (bytes[b] !== zero) return false;
    return true;
  };
  let first = 0;
  while (first < frames && silent(first)) first++;
  let end = frames;
  while (end > first && silent(end - 1)) end--;
  if (first === end) return { first, end };
  return { first: first >= minFrames ? first : 0, end: frames - end >= minFrames ? end : frames };
}

/** A canonical WAV (RIFF, fmt, data) holding frames [first, end) of the input. */
function rewrite(bytes: Uint8Array, layout: WavLayout, first: number, end: number): Uint8Array {
  const { blockAlign, bitsPerSample, format, dataOffset } = layout;
  const data = bytes.subarray(dataOffset + first * blockAlign, dataOffset + end * blockAlign);
  // Non-PCM formats (float) carry a cbSize field; a chunk of odd length is followed by a pad byte.
  const float = layout.sampleType === 'float';
  const fmtSize = float ? 18 : 16;
  const pad = data.length & 1;
  const out = new Uint8Array(12 + 8 + fmtSize + 8 + data.length + pad);
  const v = new DataView(out.buffer);
  const tag = (at: number, s: string) => [...s].forEach((c, i) => v.setUint8(at + i, c.charCodeAt(0)));
  tag(0, 'RIFF');
  v.setUint32(4, out.length - 8, true);
  tag(8, 'WAVE');
  tag(12, 'fmt ');
  v.setUint32(16, fmtSize, true);
  v.setUint16(20, float ? 3 : 1, true);
  v.setUint16(22, format.channels, true);
  v.setUint32(24, format.sampleRate, true);
  v.setUint32(28, format.sampleRate * blockAlign, true);
  v.setUint16(32, blockAlign, true);
  v.setUint16(34, bitsPerSample, true);
  if (float) v.setUint16(36, 0, true);
  const d = 20 + fmtSize;
  tag(d, 'data');
  v.setUint32(d + 4, data.length, true);
  out.set(data, d + 8);
  return out;
}

/** The WAV files under dir, in name order (so a run over part of them is repeatable). */
export function* wavFiles(dir: string): Generator<string> {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* wavFiles(p);
    else if (e.isFile() && /\.wav$/i.test(e.name)) yield p;
  }
}

export interface TrimSummary {
  files: number;
  trimmed: number;
  /** Frames removed, and frames there were. */
  removedFrames: number;
  totalFrames: number;
  /** Files that are digital silence throughout: left as they are. */
  allZero: string[];
}

export function trimZeroEdges(dirs: string[], dryRun = false): TrimSummary {
  const s: TrimSummary = { files: 0, trimmed: 0, removedFrames: 0, totalFrames: 0, allZero: [] };
  for (const dir of dirs)
    for (const path of wavFiles(dir)) {
      const bytes = new Uint8Array(readFileSync(path));
      const layout = parseWavLayout(bytes, path);
      s.files++;
      s.totalFrames += layout.frames;
      // μ-law and A-law code their zero as a non-zero byte: only linear PCM is read here.
      if (layout.sampleType !== 'int' && layout.sampleType !== 'float') continue;
      const { first, end } = nonPaddedSpan(bytes, layout, Math.round(MIN_PADDING_S * layout.format.sampleRate));
      if (first === end) {
        if (layout.frames > 0) s.allZero.push(path);
        continue;
      }
      if (first === 0 && end === layout.frames) continue;
      s.trimmed++;
      s.removedFrames += layout.frames - (end - first);
      if (dryRun) continue;
      const part = `${path}.part`;
      writeFileSync(part, rewrite(bytes, layout, first, end));
      renameSync(part, path);
    }
  return s;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const dryRun = args.includes('--dry-run');
  const dirs = args.filter((a) => a !== '--dry-run');
  if (dirs.length === 0) {
    console.error('usage: node --import tsx scripts/trim-zero-edges.ts DIR... [--dry-run]');
    process.exit(2);
  }
  const s = trimZeroEdges(dirs, dryRun);
  const share = s.totalFrames ? ((100 * s.removedFrames) / s.totalFrames).toFixed(1) : '0.0';
  console.log(
    `trim-zero-edges: ${s.trimmed} of ${s.files} files ${dryRun ? 'would be ' : ''}trimmed: ${share} % of the audio was zero padding (≥ ${MIN_PADDING_S * 1000} ms of digital silence at an edge)` +
      (s.allZero.length ? `; ${s.allZero.length} all-zero file(s) left as they are: ${s.allZero.join(', ')}` : ''),
  );
}
