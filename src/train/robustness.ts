// The robustness evaluation: a model's utterance-level WA/UA on a test set, clean and degraded the
// ways users' audio is (pink noise and babble at 20/10/5/0 dB SNR, −10/−30/−45 dB gain, telephone
// bandwidth), every degradation seeded per utterance so two models see the same audio. Short
// turns ("crop", not in the default set) ask how a model does on a word or two, as a voice agent
// hears them, when it learnt from sentences. Digital silence ("zeros", not in the default set:
// exact zeros around the speech, as a muted microphone or a codec's discontinuous transmission
// sends them) asks whether a model leans on what ASED's zero padding taught earlier models.
import { computeFeatures } from '../dsp/features.js';
import { loadAudio16k } from '../dsp/load.js';
import { SAMPLE_RATE } from '../dsp/types.js';
import type { Engine } from '../inference/engine.js';
import { scoreUtterance } from '../inference/utterance.js';
import { addNoise, applyGain, babble, ENERGY_STEP, noise, stepEnergies, telephone } from './augment.js';
import type { Utterance } from './corpus.js';
import { argmax, computeMetrics, type Metrics } from './metrics.js';
import { rng } from './protocols.js';
import { esc } from './confusion-svg.js';

export interface Condition {
  name: string;
  kind: 'clean' | 'pink' | 'babble' | 'gain' | 'telephone' | 'crop' | 'zeros';
  /** SNR (dB) for noise, gain (dB) for gain, seconds kept for crop, seconds of zeros at each end. */
  value?: number;
}

export const CONDITIONS: readonly Condition[] = [
  { name: 'clean', kind: 'clean' },
  ...[20, 10, 5, 0].map((v) => ({ name: `pink ${v} dB`, kind: 'pink' as const, value: v })),
  ...[20, 10, 5, 0].map((v) => ({ name: `babble ${v} dB`, kind: 'babble' as const, value: v })),
  ...[-10, -30, -45].map((v) => ({ name: `gain ${v} dB`, kind: 'gain' as const, value: v })),
  { name: 'telephone', kind: 'telephone' },
];

/** Conditions by name for `eval --conditions`: clean, telephone, pink:DB, babble:DB, gain:DB,
 *  crop:SECONDS, zeros:SECONDS. Throws a message naming the bad entry. */
export function parseConditions(list: string): Condition[] {
  return list
    .split(',')
    .filter(Boolean)
    .map((entry) => {
      const [kind, raw, ...rest] = entry.trim().split(':');
      const value = raw === undefined ? undefined : Number(raw);
      const bad = (why: string) => new Error(`condition '${entry}': ${why}`);
      if (rest.length) throw bad('one value at most');
      if (kind === 'clean' || kind === 'telephone') {
        if (raw !== undefined) throw bad(`${kind} takes no value`);
        return { name: kind, kind };
      }
      if (kind !== 'pink' && kind !== 'babble' && kind !== 'gain' && kind !== 'crop' && kind !== 'zeros')
        throw bad('kind must be clean, telephone, pink, babble, gain, crop or zeros');
      if (value === undefined || raw === '' || !Number.isFinite(value)) throw bad('needs a number, e.g. pink:10');
      if (kind === 'crop') {
        if (!(value > 0)) throw bad('seconds must be > 0');
        return { name: `crop ${value} s`, kind, value };
      }
      if (kind === 'zeros') {
        if (!(value > 0 && value <= 60)) throw bad('seconds must be > 0 and at most 60');
        return { name: `zeros ${value} s`, kind, value };
      }
      if (kind === 'gain' && value > 40) throw bad('gain above +40 dB clips everything');
      return { name: `${kind} ${value} dB`, kind, value };
    });
}

/** The loudest `seconds` of x (10 ms steps), or x itself when it is no longer. */
export function loudestSpan(x: Float32Array, seconds: number): Float32Array {
  const len = Math.round(seconds * SAMPLE_RATE);
  if (x.length <= len) return x;
  const energy = stepEnergies(x);
  const cumulative = new Float64Array(energy.length + 1);
  energy.forEach((e, i) => (cumulative[i + 1] = cumulative[i] + e));
  const span = Math.floor(len / ENERGY_STEP);
  let best = 0;
  let bestE = -1;
  for (let i = 0; i + span <= energy.length; i++) {
    const e = cumulative[i + span] - cumulative[i];
    if (e > bestE) [best, bestE] = [i, e];
  }
  return x.slice(best * ENERGY_STEP, best * ENERGY_STEP + len);
}

/** x with `seconds` of exact zeros before and after it. */
export function padZeros(x: Float32Array, seconds: number): Float32Array {
  const pad = Math.round(seconds * SAMPLE_RATE);
  const y = new Float32Array(x.length + 2 * pad);
  y.set(x, pad);
  return y;
}

/** The degraded signal of one condition; `pool` holds babble talkers (other utterances of the set). */
export function degrade(x: Float32Array, c: Condition, rand: () => number, pool: readonly Float32Array[]): Float32Array {
  switch (c.kind) {
    case 'clean':
      return x;
    case 'pink':
      return addNoise(x, noise('pink', x.length, rand), c.value!);
    case 'babble':
      return addNoise(x, babble(x.length, pool, 4, rand), c.value!);
    case 'gain':
      return applyGain(x, c.value!);
    case 'telephone':
      return telephone(x);
    case 'crop':
      return loudestSpan(x, c.value!);
    case 'zeros':
      return padZeros(x, c.value!);
  }
}

export interface RobustnessRow {
  condition: string;
  metrics: Metrics;
  /** The lowest per-class recall: a model that calls everything one class shows 0 here. */
  minRecall: number;
}

/** Babble talkers: this many utterances of the test set, drawn by the seed. */
const BABBLE_POOL = 16;

export async function evaluateRobustness(
  engine: Engine,
  utts: readonly Utterance[],
  opts: { seed?: number; conditions?: readonly Condition[]; progress?: (done: number, total: number) => void } = {},
): Promise<RobustnessRow[]> {
  const conditions = opts.conditions ?? CONDITIONS;
  const labels = [...engine.labels];
  const known = utts.filter((u) => labels.includes(u.label));
  const seed = opts.seed ?? 1;
  const pick = rng(seed);
  const poolIdx = [...new Set(Array.from({ length: Math.min(BABBLE_POOL, known.length) }, () => Math.floor(pick() * known.length)))];
  const poolSignals = new Map<number, Float32Array>();
  for (const i of poolIdx) poolSignals.set(i, await loadAudio16k(known[i].path));
  const predicted = conditions.map(() => new Int32Array(known.length));
  // A default condition draws the same noise whatever list it is asked in (comparable tables).
  const noiseSlot = conditions.map((cond, c) => {
    const i = CONDITIONS.findIndex((d) => d.name === cond.name);
    return i >= 0 ? i : CONDITIONS.length + c;
  });
  for (const [u, utt] of known.entries()) {
    const x = poolSignals.get(u) ?? (await loadAudio16k(utt.path));
    const pool = poolIdx.filter((i) => i !== u).map((i) => poolSignals.get(i)!);
    for (const [c, cond] of conditions.entries()) {
      const y = degrade(x, cond, rng(seed * 1_000_003 + u * 97 + noiseSlot[c]), pool);
      predicted[c][u] = argmax((await scoreUtterance(engine, computeFeatures(y))).probs);
    }
    opts.progress?.(u + 1, known.length);
  }
  const truth = known.map((u) => labels.indexOf(u.label));
  return conditions.map((cond, c) => {
    const metrics = computeMetrics(truth, predicted[c], labels);
    return { condition: cond.name, metrics, minRecall: Math.min(...metrics.recall.filter((r) => !Number.isNaN(r))) };
  });
}

/** UA per condition as lines, one per series (e.g. a model on a test set), as a self-contained SVG. */
export function robustnessSvg(series: { name: string; rows: RobustnessRow[] }[], title: string): string {
  const conds = series[0]?.rows.map((r) => r.condition) ?? [];
  const left = 50,
    top = 40,
    w = 56 * Math.max(1, conds.length),
    h = 260,
    bottom = 110;
  const width = left + w + 230,
    height = top + h + bottom;
  const x = (i: number) => left + 28 + i * 56;
  const y = (ua: number) => Math.round((top + h - ua * h) * 10) / 10;
  const colours = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(
      `<line x1="${left}" x2="${left + w}" y1="${y(v)}" y2="${y(v)}" stroke="${v === 0.25 ? '#999' : '#ddd'}"${v === 0.25 ? ' stroke-dasharray="4 3"' : ''}/>`,
    );
    parts.push(`<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${(100 * v).toFixed(0)}%</text>`);
  }
  parts.push(`<text x="${left + w + 6}" y="${y(0.25) + 4}" fill="#999">chance</text>`);
  conds.forEach((c, i) => parts.push(`<text transform="translate(${x(i) + 4},${top + h + 8}) rotate(60)">${esc(c)}</text>`));
  parts.push(`<text transform="translate(14,${top + h / 2}) rotate(-90)" text-anchor="middle">UA</text>`);
  series.forEach((s, k) => {
    const col = colours[k % colours.length];
    const pts = s.rows.map((r, i) => `${x(i)},${y(r.metrics.ua)}`).join(' ');
    parts.push(`<polyline points="${pts}" fill="none" stroke="${col}" stroke-width="2"/>`);
    s.rows.forEach((r, i) => parts.push(`<circle cx="${x(i)}" cy="${y(r.metrics.ua)}" r="3" fill="${col}"/>`));
    parts.push(`<rect x="${left + w + 12}" y="${top + 10 + k * 18}" width="12" height="3" fill="${col}"/>`);
    parts.push(`<text x="${left + w + 30}" y="${top + 15 + k * 18}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
