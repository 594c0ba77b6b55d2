// Chooses the emotion events' settings (timeConstantMs, margin, dwellMs, firstEventSpeechMs) on
// one half of a corpus's speakers and reports them, next to the server's defaults, on the other
// half, with a model that never heard that corpus. Everything is replayed offline through the
// server's own front end and decision code (src/bench/replay.ts), with the demo page's settings
// (hop 500 ms, an early window at 1 s):
//   - singles: one file per session → the first `emotion` event right;
//   - sequences: six files with 1 s of quiet between (as `bench --sections events`) → the state
//     shown 1 s after each turn ends, and the `utterance` label of the file's turn.
// The choice maximises UA(first event) + UA(state 1 s after) on the tuning speakers; the grid's
// order breaks ties (shorter τ, margin, dwell first).
//
//   node --import tsx scripts/tune-heldout.ts --model DIR --corpus emodb \
//     --tune 03,08,09,10,11 --report 12,13,14,15,16 [--explain]
//
// Without --tune it only reports the defaults (and, with --explain, lists each file whose
// `utterance` label differs from its utterance-level label). TurEV-DB is test-only: it cannot be
// tuned on. --ravdess-bench replays the events benchmark's default 48 RAVDESS files instead.
import { parseArgs } from 'node:util';
import { loadEngine } from '../src/inference/load-engine.js';
import { outcomes, replaySequences, scoreOutcomes, type FileOutcome, type ReplayedSequence } from '../src/bench/replay.js';
import {
  corpusFiles,
  ravdessSpeechFiles,
  seededRandom,
  shuffle,
  speakerFilter,
  type EventsCorpus,
  type LabelledFile,
} from '../src/bench/sequences.js';
import type { Score } from '../src/bench/events.js';
import { DEFAULT_SMOOTHING } from '../src/server/settings.js';
import { TEST_ONLY, type CorpusName } from '../src/train/corpus.js';
import type { SmoothingSettings } from '../src/protocol/messages.js';
import type { TurnOptions } from '../src/dsp/turns.js';

const { values: v } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/basic-4' },
    corpus: { type: 'string', default: 'emodb' },
    tune: { type: 'string' },
    report: { type: 'string' },
    files: { type: 'string' },
    seed: { type: 'string', default: '11' },
    explain: { type: 'boolean', default: false },
    'ravdess-bench': { type: 'boolean', default: false },
    /** Turn context variants to compare on the tuning speakers, "beforeMs:afterMs,…". */
    'turn-context': { type: 'string' },
    /** Only compare the turn contexts (no decision grid, no report). */
    'contexts-only': { type: 'boolean', default: false },
  },
});
const corpus = v.corpus as EventsCorpus;
if (v.tune && TEST_ONLY.includes(corpus as CorpusName)) throw new Error(`${corpus} is a test-only corpus: it cannot be tuned on`);

const seed = Number(v.seed);
async function pick(list: string | undefined): Promise<LabelledFile[]> {
  if (v['ravdess-bench'])
    return shuffle(
      ravdessSpeechFiles(undefined, (a) => a >= 13),
      seededRandom(11),
    ).slice(0, Number(v.files ?? 48));
  const all = shuffle(await corpusFiles(corpus, { speakers: speakerFilter(corpus, list) }), seededRandom(seed));
  return v.files ? all.slice(0, Number(v.files)) : all;
}

const defaults = { ...DEFAULT_SMOOTHING };
const engine = await loadEngine(v.model!);
const labels = engine.labels;
let turns: TurnOptions = {};
async function replay(files: LabelledFile[]) {
  const t0 = performance.now();
  const singles = await replaySequences(engine, files, { perSequence: 1, gapMs: 1000, turns });
  const seqs = await replaySequences(engine, files, { perSequence: 6, gapMs: 1000, turns });
  console.error(`replayed ${files.length} files in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return { singles, seqs };
}
type Replayed = Awaited<ReturnType<typeof replay>>;
const run = (r: Replayed, s: SmoothingSettings) => {
  const single = scoreOutcomes(outcomes(r.singles, labels, s));
  const seqOut = outcomes(r.seqs, labels, s);
  return { first: single.firstEvent, seq: scoreOutcomes(seqOut), seqOut };
};
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const sc = (s: Score) => `${s.right}/${s.n} UA ${pct(s.ua)}`;
const line = (name: string, r: ReturnType<typeof run>) =>
  `${name}: first event ${sc(r.first)}; state 1 s after ${sc(r.seq.stateAfter1s)}; utterance ${sc(r.seq.utterance)} vs utterance-level ${sc(r.seq.utteranceLevel)}`;
const show = (s: SmoothingSettings) =>
  `τ ${s.timeConstantMs} ms, margin ${s.margin}, dwell ${s.dwellMs} ms, first event after ${s.firstEventSpeechMs} ms of speech`;

function explain(os: FileOutcome[]) {
  for (const o of os.filter((o) => o.utterance !== o.utteranceLevel))
    console.log(
      `  ${o.path.split('/').slice(-2).join('/')}: truth ${o.truth}, utterance-level ${o.utteranceLevel}, utterance ${o.utterance ?? '(no turn)'}; ` +
        `file ${Math.round(o.span.startMs)}-${Math.round(o.span.endMs)} ms, ${o.turns} turn(s), main ${o.mainTurn ? `${o.mainTurn.startMs}-${o.mainTurn.endMs} ms (${o.mainTurn.windows} windows)` : '-'}`,
    );
}

let chosen: SmoothingSettings | undefined;
if (v.tune && v['turn-context']) {
  // The `utterance` decision's context: sequences of the tuning speakers only (the windows and
  // events do not depend on it).
  const files = await pick(v.tune);
  let best: { t: TurnOptions; s: Score } | undefined;
  for (const pair of v['turn-context'].split(',')) {
    const [before, after] = pair.split(':').map(Number);
    const t = { contextBeforeMs: before, contextAfterMs: after };
    const seqs = await replaySequences(engine, files, { perSequence: 6, gapMs: 1000, turns: t });
    const r = scoreOutcomes(outcomes(seqs, labels, defaults));
    console.log(
      `tuning speakers, turn context ${before} ms before, ${after} ms after: utterance ${sc(r.utterance)} vs utterance-level ${sc(r.utteranceLevel)}`,
    );
    if (!best || r.utterance.ua > best.s.ua) best = { t, s: r.utterance };
  }
  turns = best!.t;
  console.log(`chosen turn context: ${JSON.stringify(turns)}`);
  if (v['contexts-only']) process.exit(0);
}
if (v.tune) {
  const tune = await replay(await pick(v.tune));
  const grid: SmoothingSettings[] = [];
  for (const timeConstantMs of [0, 500, 1000, 1500, 3000, 6000])
    for (const margin of [0, 0.05, 0.1, 0.2])
      for (const dwellMs of [0, 500, 1000, 1500])
        for (const firstEventSpeechMs of [0, 250, 500, 750, 1000, 1500])
          grid.push({ ...defaults, timeConstantMs, margin, dwellMs, firstEventSpeechMs });
  const objective = (r: ReturnType<typeof run>) => r.first.ua + r.seq.stateAfter1s.ua;
  const scored = grid.map((s) => ({ s, r: run(tune, s) }));
  const best = scored.reduce((a, b) => (objective(b.r) > objective(a.r) ? b : a));
  chosen = best.s;
  console.log(`tuning speakers (${v.tune}), ${tune.singles.length} files, grid of ${grid.length}:`);
  console.log(line('  defaults', run(tune, defaults)));
  console.log(line(`  chosen (${show(best.s)})`, best.r));
  for (const { s, r } of [...scored].sort((a, b) => objective(b.r) - objective(a.r)).slice(0, 6)) console.log(line(`    ${show(s)}`, r));
}
const rep = await replay(await pick(v.report));
console.log(
  `reported speakers (${v['ravdess-bench'] ? 'events bench RAVDESS files' : (v.report ?? 'all')}), ${rep.singles.length} files, model ${v.model}:`,
);
const d = run(rep, defaults);
console.log(line(`  defaults (${show(defaults)})`, d));
if (chosen) console.log(line(`  chosen (${show(chosen)})`, run(rep, chosen)));
if (v.explain) {
  console.log('files whose `utterance` label differs from their utterance-level label (defaults, sequences):');
  explain(d.seqOut);
  const os = d.seqOut;
  const sum = (f: (o: FileOutcome) => boolean) => os.filter(f).length;
  console.log(
    `  split into >1 turn: ${sum((o) => o.turns > 1)}; no turn: ${sum((o) => o.turns === 0)}; ` +
      `differing: ${sum((o) => o.utterance !== o.utteranceLevel)} (of which split ${sum((o) => o.utterance !== o.utteranceLevel && o.turns > 1)})`,
  );
}
await engine.dispose();
