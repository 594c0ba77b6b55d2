// Labelled RAVDESS speech and stitched sequences of it with quiet between utterances, as a live
// caller's turns would arrive: shared by the events benchmark and the offline replays in scripts/.
import { readdirSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { audioFiles } from './corpus.js';

export const RAVDESS_DIR = fileURLToPath(new URL('../../../shared/data/ravdess/wav/', import.meta.url));

/** RAVDESS emotion codes of the shipped model's four labels. */
export const RAVDESS_CODES: Record<string, string> = { '05': 'angry', '03': 'happy', '04': 'sad', '01': 'neutral' };

export interface LabelledFile {
  path: string;
  truth: string;
  actor: number;
}

/** The label a RAVDESS name gives (audio-only speech, 03-01-EE-…-AA.wav, four emotions), else undefined. */
export function ravdessLabel(name: string): { truth: string; actor: number } | undefined {
  const p = basename(name)
    .replace(/\.[^.]+$/, '')
    .split('-');
  const truth = RAVDESS_CODES[p[2]];
  if (p.length !== 7 || p[0] !== '03' || p[1] !== '01' || !truth) return undefined;
  return { truth, actor: Number(p[6]) };
}

/** RAVDESS speech files of the four emotions under `dir` (any depth), sorted, optionally by actor. */
export function ravdessSpeechFiles(dir = RAVDESS_DIR, actors?: (actor: number) => boolean): LabelledFile[] {
  // readdirSync first: a missing folder fails here with the path, before any walking.
  readdirSync(dir);
  const out: LabelledFile[] = [];
  for (const path of audioFiles(dir)) {
    const l = ravdessLabel(path);
    if (l && (!actors || actors(l.actor))) out.push({ path, ...l });
  }
  return out;
}

/** A small seeded generator (the replays' and the benchmark's orders repeat run to run). */
export function seededRandom(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/** Fisher–Yates in place with `rand`. */
export function shuffle<T>(xs: T[], rand: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

export interface Stitched {
  /** 16 kHz mono signal: each utterance followed by `gapSamples` of near-silence. */
  samples: Float32Array;
  /** Where each utterance lies in the signal, ms. */
  spans: { startMs: number; endMs: number }[];
}

/**
 * Utterances back to back, each followed by a gap of faint noise (±1e-4, not digital zero, so
 * the voice-activity detector's noise floor stays meaningful).
 */
export function stitch(utterances: Float32Array[], gapSamples: number, rand: () => number, sampleRate = 16000): Stitched {
  const len = utterances.reduce((n, u) => n + u.length + gapSamples, 0);
  const samples = new Float32Array(len);
  const spans: Stitched['spans'] = [];
  let o = 0;
  for (const u of utterances) {
    samples.set(u, o);
    spans.push({ startMs: (o / sampleRate) * 1000, endMs: ((o + u.length) / sampleRate) * 1000 });
    o += u.length;
    for (let i = 0; i < gapSamples; i++) samples[o + i] = 1e-4 * (rand() * 2 - 1);
    o += gapSamples;
  }
  return { samples, spans };
}
