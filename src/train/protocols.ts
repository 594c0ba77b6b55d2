// Evaluation protocols as lists of folds (indices into the utterance list). docs/training.md
// states the choices: k-fold is stratified by label at the utterance level with speakers
// shared between train and test (as in the paper's random 10-fold CV); LOSO holds out whole
// speakers; LOCO (leave one corpus out) holds out a whole corpus; "all" trains on everything.
// Each fold's validation set (early stopping) comes from its training part only.
import type { Utterance } from './corpus.js';
import { UserError } from '../errors.js';

export type Protocol = 'kfold' | 'loso' | 'loco' | 'all';
export const PROTOCOLS: readonly Protocol[] = ['kfold', 'loso', 'loco', 'all'];

/** Corpora that share speakers, and so leave (and are tested) together: RAVDESS speech and song
 *  have the same actors. The first of a group is its test set. */
export const CORPUS_GROUPS: Record<string, string[]> = { ravdess: ['ravdess', 'ravdess-song'] };

export interface Fold {
  index: number;
  /** What is held out, for reports (e.g. "speaker emodb-03", "fold 4/10"). */
  name: string;
  train: number[];
  val: number[];
  test: number[];
}

/** mulberry32: a small, fast, seedable PRNG (all randomness in training goes through it). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(a: T[], rand: () => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Deal indices into k stratified groups: each label's items shuffled, then dealt round-robin. */
function stratifiedGroups(idx: number[], utts: readonly Utterance[], k: number, rand: () => number): number[][] {
  const groups: number[][] = Array.from({ length: k }, () => []);
  const byLabel = new Map<string, number[]>();
  for (const i of idx) {
    const l = utts[i].label;
    if (!byLabel.has(l)) byLabel.set(l, []);
    byLabel.get(l)!.push(i);
  }
  let offset = 0;
  for (const label of [...byLabel.keys()].sort()) {
    const items = shuffle(byLabel.get(label)!, rand);
    items.forEach((it, j) => groups[(j + offset) % k].push(it));
    offset += items.length;
  }
  return groups.map((g) => g.sort((a, b) => a - b));
}

/** Validation split of a training part: `fraction` of its utterances, stratified by label. */
function splitVal(train: number[], utts: readonly Utterance[], fraction: number, rand: () => number): { train: number[]; val: number[] } {
  if (fraction <= 0) return { train, val: [] };
  const k = Math.max(2, Math.round(1 / fraction));
  const groups = stratifiedGroups(train, utts, k, rand);
  return {
    train: groups
      .slice(1)
      .flat()
      .sort((a, b) => a - b),
    val: groups[0],
  };
}

export interface ProtocolOptions {
  folds?: number;
  seed?: number;
  /** Fraction of each training part kept for early stopping (default 0.1). */
  valFraction?: number;
}

export function makeFolds(protocol: Protocol, utts: readonly Utterance[], opts: ProtocolOptions = {}): Fold[] {
  const seed = opts.seed ?? 1;
  const valFraction = opts.valFraction ?? 0.1;
  const rand = rng(seed);
  const all = utts.map((_, i) => i);
  if (protocol === 'all') {
    const { train, val } = splitVal(all, utts, valFraction, rand);
    return [{ index: 0, name: 'all', train, val, test: [] }];
  }
  if (protocol === 'kfold') {
    const k = opts.folds ?? 10;
    if (!Number.isInteger(k) || k < 2 || k > utts.length)
      throw new UserError('bad_folds', `--folds must be an integer in 2…${utts.length}, got ${k}`);
    const groups = stratifiedGroups(all, utts, k, rand);
    return groups.map((test, f) => {
      const rest = groups
        .filter((_, g) => g !== f)
        .flat()
        .sort((a, b) => a - b);
      return { index: f, name: `fold ${f + 1}/${k}`, ...splitVal(rest, utts, valFraction, rand), test };
    });
  }
  if (protocol === 'loso') {
    const speakers = [...new Set(utts.map((u) => u.speaker))].sort();
    if (speakers.length < 3) throw new UserError('bad_folds', `LOSO needs at least 3 speakers, the corpus has ${speakers.length}`);
    // --folds N groups the speakers into N folds (e.g. RAVDESS 6-fold by actor); default one each.
    const k = opts.folds ?? speakers.length;
    if (!Number.isInteger(k) || k < 2 || k > speakers.length)
      throw new UserError('bad_folds', `--folds for loso must be 2…${speakers.length} (number of speaker groups), got ${k}`);
    const groups: string[][] = Array.from({ length: k }, () => []);
    speakers.forEach((s, i) => groups[i % k].push(s));
    return groups.map((held, f) => {
      const test = all.filter((i) => held.includes(utts[i].speaker));
      // Validation = whole speakers from the training side (the next group's first speaker),
      // so early stopping is speaker-independent too.
      const valSpeaker = groups[(f + 1) % k][0];
      const train = all.filter((i) => !held.includes(utts[i].speaker) && utts[i].speaker !== valSpeaker);
      const val = valFraction > 0 ? all.filter((i) => utts[i].speaker === valSpeaker) : [];
      return {
        index: f,
        name: `speaker${held.length > 1 ? 's' : ''} ${held.join('+')}`,
        train: valFraction > 0 ? train : train.concat(val),
        val,
        test,
      };
    });
  }
  if (protocol === 'loco') {
    const corpora = [...new Set(utts.map((u) => u.corpus ?? ''))];
    if (corpora.some((c) => !c))
      throw new UserError('bad_folds', 'LOCO needs a corpus name on every utterance (use a built-in multi-corpus set such as train4)');
    const grouped = new Set(Object.values(CORPUS_GROUPS).flatMap((g) => g.slice(1)));
    const held = corpora.filter((c) => !grouped.has(c)).sort();
    if (held.length < 2) throw new UserError('bad_folds', `LOCO needs at least 2 corpora, the set has ${held.length}`);
    return held.map((name, f) => {
      const group = CORPUS_GROUPS[name] ?? [name];
      const rest = all.filter((i) => !group.includes(utts[i].corpus!));
      return {
        index: f,
        name: `corpus ${name}`,
        ...splitVal(rest, utts, valFraction, rand),
        test: all.filter((i) => utts[i].corpus === name),
      };
    });
  }
  throw new UserError('bad_protocol', `unknown protocol '${protocol}' (expected ${PROTOCOLS.join(', ')})`);
}
