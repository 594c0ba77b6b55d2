// Corpora as lists of labelled utterances: Emo-DB, RAVDESS (4 classes), their union
// "basic4", and any user corpus described by a manifest (docs/training.md).
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve, dirname, isAbsolute, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';

export interface Utterance {
  /** Absolute path of the audio file. */
  path: string;
  speaker: string;
  label: string;
}

export interface Corpus {
  name: string;
  labels: string[];
  utterances: Utterance[];
}

export type CorpusName = 'emodb' | 'ravdess' | 'basic4';
export const CORPORA: readonly CorpusName[] = ['emodb', 'ravdess', 'basic4'];

/** Default location of the shared data: <repo>/../shared/data. */
export function defaultDataRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/data');
}

export const EMODB_LABELS: Record<string, string> = { W: 'angry', L: 'bored', E: 'disgust', A: 'fear', F: 'happy', T: 'sad', N: 'neutral' };
export const EMODB_7 = ['angry', 'bored', 'disgust', 'fear', 'happy', 'sad', 'neutral'];
export const BASIC_4 = ['angry', 'happy', 'sad', 'neutral'];
const RAVDESS_LABELS: Record<string, string> = { '01': 'neutral', '03': 'happy', '04': 'sad', '05': 'angry' };

async function listDir(dir: string, what: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new UserError('data_not_found', `${what} not found at '${dir}' (use --data-root)`);
    throw err;
  }
}

export async function emodb(root: string, keep: readonly string[] = EMODB_7): Promise<Utterance[]> {
  const dir = join(root, 'emodb', 'wav');
  const out: Utterance[] = [];
  for (const f of await listDir(dir, 'Emo-DB')) {
    if (!f.endsWith('.wav') || f.length < 7) continue;
    const label = EMODB_LABELS[f[5]];
    if (label && keep.includes(label)) out.push({ path: join(dir, f), speaker: `emodb-${f.slice(0, 2)}`, label });
  }
  return out;
}

export async function ravdess(root: string): Promise<Utterance[]> {
  const dir = join(root, 'ravdess', 'wav');
  const out: Utterance[] = [];
  for (const actor of await listDir(dir, 'RAVDESS')) {
    if (!actor.startsWith('Actor_')) continue;
    for (const f of (await readdir(join(dir, actor))).sort()) {
      const parts = f.replace(/\.wav$/, '').split('-');
      const label = parts.length === 7 ? RAVDESS_LABELS[parts[2]] : undefined;
      if (label) out.push({ path: join(dir, actor, f), speaker: `ravdess-${parts[6]}`, label });
    }
  }
  return out;
}

export async function builtinCorpus(name: CorpusName, root = defaultDataRoot()): Promise<Corpus> {
  switch (name) {
    case 'emodb':
      return { name, labels: EMODB_7, utterances: await emodb(root) };
    case 'ravdess':
      return { name, labels: BASIC_4, utterances: await ravdess(root) };
    case 'basic4':
      return { name, labels: BASIC_4, utterances: [...(await emodb(root, BASIC_4)), ...(await ravdess(root))] };
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
