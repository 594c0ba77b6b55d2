// Corpora as lists of labelled utterances: Emo-DB, RAVDESS speech and song, nEMO, ASED,
// TurEV-DB (a test set only), the unions "basic4" and "train4", and any user corpus described
// by a manifest. docs/data.md gives each corpus's source, licence and expected layout.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve, dirname, isAbsolute, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';

export interface Utterance {
  /** Absolute path of the audio file. */
  path: string;
  /** Unique across corpora (prefixed with the corpus; RAVDESS speech and song share their actors). */
  speaker: string;
  label: string;
  /** The corpus the utterance comes from (for leave-one-corpus-out and balanced sampling). */
  corpus?: string;
}

export interface Corpus {
  name: string;
  labels: string[];
  utterances: Utterance[];
}

export type CorpusName = 'emodb' | 'ravdess' | 'basic4' | 'ravdess-song' | 'nemo' | 'ased' | 'turev' | 'train4';
export const CORPORA: readonly CorpusName[] = ['emodb', 'ravdess', 'basic4', 'ravdess-song', 'nemo', 'ased', 'turev', 'train4'];

/** Corpora reserved for evaluation: never trained or tuned on (TurEV-DB's licence forbids derivatives). */
export const TEST_ONLY: readonly CorpusName[] = ['turev'];

/** The corpora "train4" joins: every corpus we may train on, in 4 classes. */
export const TRAIN4_PARTS = ['emodb', 'ravdess', 'ravdess-song', 'nemo', 'ased'] as const;

/** Default location of the shared data: <repo>/../shared/data. */
export function defaultDataRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/data');
}

/** Default location of the corpora prepared by scripts/prepare-corpora.sh: <repo>/corpora. */
export function defaultCorporaRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../corpora');
}

export interface CorpusRoots {
  /** Holds emodb/ and ravdess/ (default ../shared/data). */
  data?: string;
  /** Holds ravdess-song/, nemo/, ased/, turev/ (default corpora/). */
  corpora?: string;
}

export const EMODB_LABELS: Record<string, string> = { W: 'angry', L: 'bored', E: 'disgust', A: 'fear', F: 'happy', T: 'sad', N: 'neutral' };
export const EMODB_7 = ['angry', 'bored', 'disgust', 'fear', 'happy', 'sad', 'neutral'];
export const BASIC_4 = ['angry', 'happy', 'sad', 'neutral'];
const RAVDESS_LABELS: Record<string, string> = { '01': 'neutral', '03': 'happy', '04': 'sad', '05': 'angry' };
/** nEMO's emotions → ours (fear and surprise are left out). */
const NEMO_LABELS: Record<string, string> = { anger: 'angry', happiness: 'happy', sadness: 'sad', neutral: 'neutral' };
/** ASED's folders → ours (02Fearful is left out). */
const ASED_LABELS: Record<string, string> = { '01Neutral': 'neutral', '03Happy': 'happy', '04Sad': 'sad', '05Angry': 'angry' };
/** TurEV-DB's folders → ours: it has no neutral class, and calm is the closest (docs/data.md). */
const TUREV_LABELS: Record<string, string> = { Angry: 'angry', Calm: 'neutral', Happy: 'happy', Sad: 'sad' };

async function listDir(dir: string, what: string, flag = '--data-root'): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      const prep = flag === '--corpora-root' ? '; prepare it with scripts/prepare-corpora.sh (docs/data.md)' : '';
      throw new UserError('data_not_found', `${what} not found at '${dir}' (use ${flag}${prep})`);
    }
    throw err;
  }
}

const isWav = (f: string) => f.toLowerCase().endsWith('.wav');

export async function emodb(root: string, keep: readonly string[] = EMODB_7): Promise<Utterance[]> {
  const dir = join(root, 'emodb', 'wav');
  const out: Utterance[] = [];
  for (const f of await listDir(dir, 'Emo-DB')) {
    if (!f.endsWith('.wav') || f.length < 7) continue;
    const label = EMODB_LABELS[f[5]];
    if (label && keep.includes(label)) out.push({ path: join(dir, f), speaker: `emodb-${f.slice(0, 2)}`, label, corpus: 'emodb' });
  }
  return out;
}

/** RAVDESS names: MM-VV-EE-II-SS-RR-AA (modality, vocal channel, emotion, intensity, statement, repetition, actor). */
async function ravdessActors(dir: string, what: string, flag: string, corpus: string): Promise<Utterance[]> {
  const out: Utterance[] = [];
  for (const actor of await listDir(dir, what, flag)) {
    if (!actor.startsWith('Actor_')) continue;
    for (const f of (await readdir(join(dir, actor))).sort()) {
      if (!isWav(f)) continue;
      const parts = f.replace(/\.wav$/i, '').split('-');
      const label = parts.length === 7 ? RAVDESS_LABELS[parts[2]] : undefined;
      // Speech and song share the actors: one speaker id, so a split keeps an actor on one side.
      if (label) out.push({ path: join(dir, actor, f), speaker: `ravdess-${parts[6]}`, label, corpus });
    }
  }
  return out;
}

export function ravdess(root: string): Promise<Utterance[]> {
  return ravdessActors(join(root, 'ravdess', 'wav'), 'RAVDESS', '--data-root', 'ravdess');
}

export function ravdessSong(corpora: string): Promise<Utterance[]> {
  return ravdessActors(join(corpora, 'ravdess-song'), 'RAVDESS song', '--corpora-root', 'ravdess-song');
}

/** nEMO: data.tsv (file_id, emotion, …, speaker_id, …) beside samples/. */
export async function nemo(corpora: string): Promise<Utterance[]> {
  const dir = join(corpora, 'nemo');
  await listDir(dir, 'nEMO', '--corpora-root');
  let text: string;
  try {
    text = await readFile(join(dir, 'data.tsv'), 'utf8');
  } catch {
    throw new UserError('data_not_found', `nEMO's data.tsv not found in '${dir}' (docs/data.md)`);
  }
  const [head, ...rows] = text.split(/\r?\n/);
  const cols = head.split('\t').map((c) => c.trim());
  const [fi, ei, si] = ['file_id', 'emotion', 'speaker_id'].map((c) => cols.indexOf(c));
  if (fi < 0 || ei < 0 || si < 0)
    throw new UserError('bad_manifest', `${join(dir, 'data.tsv')}: expected columns file_id, emotion, speaker_id`);
  const out: Utterance[] = [];
  for (const row of rows) {
    if (!row.trim()) continue;
    const cells = row.split('\t').map((c) => c.trim());
    const label = NEMO_LABELS[cells[ei]];
    if (label) out.push({ path: join(dir, 'samples', cells[fi]), speaker: `nemo-${cells[si]}`, label, corpus: 'nemo' });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** ASED: <01Neutral…05Angry>/<e><n>-<sentence>-<repetition>-<gender>-<speaker>.wav. */
export async function ased(corpora: string): Promise<Utterance[]> {
  const dir = join(corpora, 'ased');
  const out: Utterance[] = [];
  for (const folder of await listDir(dir, 'ASED', '--corpora-root')) {
    const label = ASED_LABELS[folder];
    if (!label) continue;
    for (const f of (await readdir(join(dir, folder))).sort()) {
      const parts = f.replace(/\.wav$/i, '').split('-');
      if (!isWav(f) || parts.length !== 5) continue;
      out.push({ path: join(dir, folder, f), speaker: `ased-${parts[4]}`, label, corpus: 'ased' });
    }
  }
  return out;
}

/** TurEV-DB: <Angry|Calm|Happy|Sad>/<speaker>_<code>_<word>.wav. */
export async function turev(corpora: string): Promise<Utterance[]> {
  const dir = join(corpora, 'turev');
  const out: Utterance[] = [];
  for (const folder of await listDir(dir, 'TurEV-DB', '--corpora-root')) {
    const label = TUREV_LABELS[folder];
    if (!label) continue;
    for (const f of (await readdir(join(dir, folder))).sort()) {
      if (!isWav(f)) continue;
      out.push({ path: join(dir, folder, f), speaker: `turev-${f.split('_')[0]}`, label, corpus: 'turev' });
    }
  }
  return out;
}

export async function builtinCorpus(name: CorpusName, roots: CorpusRoots | string = {}): Promise<Corpus> {
  const r = typeof roots === 'string' ? { data: roots } : roots;
  const root = r.data ?? defaultDataRoot();
  const corpora = r.corpora ?? defaultCorporaRoot();
  switch (name) {
    case 'emodb':
      return { name, labels: EMODB_7, utterances: await emodb(root) };
    case 'ravdess':
      return { name, labels: BASIC_4, utterances: await ravdess(root) };
    case 'basic4':
      return { name, labels: BASIC_4, utterances: [...(await emodb(root, BASIC_4)), ...(await ravdess(root))] };
    case 'ravdess-song':
      return { name, labels: BASIC_4, utterances: await ravdessSong(corpora) };
    case 'nemo':
      return { name, labels: BASIC_4, utterances: await nemo(corpora) };
    case 'ased':
      return { name, labels: BASIC_4, utterances: await ased(corpora) };
    case 'turev':
      return { name, labels: BASIC_4, utterances: await turev(corpora) };
    case 'train4': {
      const parts = await Promise.all([emodb(root, BASIC_4), ravdess(root), ravdessSong(corpora), nemo(corpora), ased(corpora)]);
      return { name, labels: BASIC_4, utterances: parts.flat() };
    }
    default:
      throw new UserError('bad_corpus', `unknown corpus '${name}' (expected ${CORPORA.join(', ')})`);
  }
}

/**
 * A user corpus: DIR/manifest.csv (header `path,speaker,label`) or DIR/manifest.jsonl (one
 * {"path","speaker","label"} per line). Paths are relative to DIR unless absolute. Labels are
 * taken in order of first appearance unless `labels` fixes them.
 */
export async function manifestCorpus(dir: string, labels?: string[]): Promise<Corpus> {
  let file = '';
  let text = '';
  for (const name of ['manifest.jsonl', 'manifest.csv']) {
    try {
      text = await readFile(join(dir, name), 'utf8');
      file = join(dir, name);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  if (!file) throw new UserError('data_not_found', `no manifest.jsonl or manifest.csv in '${dir}'`);
  const rows: { path: string; speaker: string; label: string }[] = [];
  const lines = text.split(/\r?\n/);
  if (extname(file) === '.jsonl') {
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(line);
      } catch {
        throw new UserError('bad_manifest', `${file}:${i + 1}: not valid JSON`);
      }
      if (typeof o.path !== 'string' || typeof o.label !== 'string')
        throw new UserError('bad_manifest', `${file}:${i + 1}: needs string fields "path" and "label" (and "speaker")`);
      rows.push({ path: o.path, speaker: String(o.speaker ?? 'unknown'), label: o.label });
    });
  } else {
    const header = lines[0].split(',').map((s) => s.trim());
    const [pi, si, li] = ['path', 'speaker', 'label'].map((k) => header.indexOf(k));
    if (pi < 0 || li < 0) throw new UserError('bad_manifest', `${file}: the header must name columns path,speaker,label`);
    lines.slice(1).forEach((line, i) => {
      if (!line.trim()) return;
      const cells = line.split(',').map((s) => s.trim());
      if (!cells[pi] || !cells[li]) throw new UserError('bad_manifest', `${file}:${i + 2}: empty path or label`);
      rows.push({ path: cells[pi], speaker: si >= 0 ? cells[si] : 'unknown', label: cells[li] });
    });
  }
  if (rows.length === 0) throw new UserError('bad_manifest', `${file} lists no utterances`);
  const found = [...new Set(rows.map((r) => r.label))];
  const all = labels ?? found;
  const unknown = found.filter((l) => !all.includes(l));
  if (unknown.length) throw new UserError('bad_manifest', `${file}: labels ${unknown.join(', ')} are not among ${all.join(', ')}`);
  const utterances = rows.map((r) => ({ path: isAbsolute(r.path) ? r.path : resolve(dir, r.path), speaker: r.speaker, label: r.label }));
  for (const u of utterances.slice(0, 1)) {
    await stat(u.path).catch(() => {
      throw new UserError('data_not_found', `${file}: '${u.path}' does not exist`);
    });
  }
  return { name: resolve(dir).split('/').pop() ?? 'custom', labels: all, utterances };
}
