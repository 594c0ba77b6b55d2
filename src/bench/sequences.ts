// Labelled RAVDESS speech and stitched sequences of it with quiet between utterances, as a live
// caller's turns would arrive: shared by the events benchmark and the offline replays in scripts/.
import { readdirSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { audioFiles } from './corpus.js';
import { UserError } from '../errors.js';
import {
  ased,
  emodb,
  nemo,
  ravdess,
  turev,
  BASIC_4,
  defaultCorporaRoot,
  defaultDataRoot,
  type CorpusRoots,
  type Utterance,
} from '../train/corpus.js';

export const RAVDESS_DIR = fileURLToPath(new URL('../../../shared/data/ravdess/wav/', import.meta.url));

/** RAVDESS emotion codes of the shipped model's four labels. */
export const RAVDESS_CODES: Record<string, string> = { '05': 'angry', '03': 'happy', '04': 'sad', '01': 'neutral' };

export interface LabelledFile {
  path: string;
  truth: string;
  /** RAVDESS actor number (0 for other corpora). */
  actor: number;
  /** The corpus loader's speaker id (e.g. emodb-03, ravdess-13), where known. */
  speaker?: string;
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

/** Corpora the events benchmark can stream (src/train/corpus.ts loaders, four labels). */
export const EVENTS_CORPORA = ['ravdess', 'emodb', 'turev', 'nemo', 'ased'] as const;
export type EventsCorpus = (typeof EVENTS_CORPORA)[number];

/** A speakers list ("03,08" or "emodb-03") → a filter on the loader's speaker ids; undefined = all. */
export function speakerFilter(corpus: string, list: string | undefined): ((speaker: string) => boolean) | undefined {
  if (list === undefined) return undefined;
  const want = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (want.length === 0) throw new UserError('bad_argument', `the speakers list is empty ('${list}')`);
  // RAVDESS names actors 1-24 with two digits ("ravdess-03"); "3" means the same actor.
  const norm = (s: string) => (/^\d+$/.test(s) && corpus === 'ravdess' ? s.padStart(2, '0') : s);
  const ids = new Set(want.map((s) => (s.startsWith(`${corpus}-`) ? s : `${corpus}-${norm(s)}`)));
  return (speaker) => ids.has(speaker);
}

/**
 * Labelled files of one corpus in the four basic labels, sorted by path, optionally only some
 * speakers. RAVDESS here is the speech part (../shared/data/ravdess), the same files as
 * ravdessSpeechFiles.
 */
export async function corpusFiles(
  corpus: EventsCorpus,
  opts: { speakers?: (speaker: string) => boolean; roots?: CorpusRoots } = {},
): Promise<LabelledFile[]> {
  const data = opts.roots?.data ?? defaultDataRoot();
  const corpora = opts.roots?.corpora ?? defaultCorporaRoot();
  const load: Record<EventsCorpus, () => Promise<Utterance[]>> = {
    ravdess: () => ravdess(data),
    emodb: () => emodb(data, BASIC_4),
    turev: () => turev(corpora),
    nemo: () => nemo(corpora),
    ased: () => ased(corpora),
  };
  if (!load[corpus]) throw new UserError('bad_argument', `unknown events corpus '${corpus}' (expected ${EVENTS_CORPORA.join(', ')})`);
  const all = await load[corpus]();
  const kept = all.filter((u) => !opts.speakers || opts.speakers(u.speaker));
  if (kept.length === 0) throw new UserError('data_not_found', `no ${corpus} utterances of the chosen speakers`);
  return kept
    .map((u) => ({
      path: u.path,
      truth: u.label,
      actor: corpus === 'ravdess' ? Number(u.speaker.slice('ravdess-'.length)) : 0,
      speaker: u.speaker,
    }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
