// Chooses the emotion events' settings (time constant, margin, dwell, first-event speech) by
// measurement, and reports them on other speakers. Each RAVDESS speech file (neutral, happy,
// sad, angry) goes through the server's streaming front end with the demo page's settings
// (hop 500 ms, an early window at 1 s) and the model once; its windows are then replayed
// through the server's own decision code (src/server/track.ts) for every setting on the grid.
// Scores: the first `emotion` event's label, and the state at the end of the file (the label
// of the last event), against the file's label.
//
//   node --import tsx scripts/tune-events.ts [model dir, default models/basic-4]
//
// Tuning: actors 1–12. Reported: actors 13–24 with the chosen settings, against the old
// decisions (every speech window, unweighted, smoothed over time; the defaults before).
import { from, lastValueFrom, toArray } from 'rxjs';
import { StreamFrontEnd, type PlacedWindow } from '../src/dsp/stream-front-end.js';
import { loadEngine } from '../src/inference/load-engine.js';
import { readWavFile } from '../src/ingest/wav.js';
import { EmotionStateMachine } from '../src/server/hysteresis.js';
import { DEFAULT_SMOOTHING, resolveStart, type SessionSettings } from '../src/server/settings.js';
import { PosteriorSmoother } from '../src/server/smoothing.js';
import { Track } from '../src/server/track.js';
import { ravdessSpeechFiles } from '../src/bench/sequences.js';

const MODEL = process.argv[2] ?? 'models/basic-4';

interface FileRun {
  truth: string;
  actor: number;
  windows: { probs: Float32Array; w: PlacedWindow }[];
  audioMs: number;
}

const engine = await loadEngine(MODEL);
const settings = (over: Record<string, number>): SessionSettings => {
  const s = resolveStart({ type: 'start', audio: { sampleRate: 16000, encoding: 'f32le', channels: 1 }, hopMs: 500, minWindowMs: 1000 });
  s.smoothing = { ...s.smoothing, ...over };
  return s;
};

const runs: FileRun[] = [];
for (const { path, truth, actor } of ravdessSpeechFiles()) {
  const wav = await readWavFile(path);
  const s = settings({});
  const fe = new StreamFrontEnd({
    format: wav.format,
    hopMs: s.hopMs,
    minWindowMs: s.minWindowMs,
    vad: { thresholdDb: s.smoothing.vadThresholdDb, minDbfs: s.smoothing.vadMinDbfs },
  });
  const items = await lastValueFrom(fe.segment(from([{ format: wav.format, samples: wav.samples }])).pipe(toArray()));
  const ws = items.filter((i): i is PlacedWindow => i.kind === 'window');
  const probs = await engine.infer(ws.map((w) => w.data));
  runs.push({
    truth,
    actor,
    windows: ws.map((w, k) => ({ probs: probs[k], w })),
    audioMs: (wav.samples.length / wav.format.channels / wav.format.sampleRate) * 1000,
  });
}
await engine.dispose();

type Events = { label: string; kind: string }[];
function replayNew(r: FileRun, over: Record<string, number>): Events {
  const t = new Track(0, settings(over), engine.labels, () => {});
  const ev: Events = [];
  for (const { probs, w } of r.windows) {
    const e = t.window(probs, w);
    if (e) ev.push(e);
  }
  const e = t.silence(r.audioMs);
  if (e) ev.push(e);
  return ev;
}
/** The decisions before this change: every speech window smoothed over time, unweighted. */
function replayOld(r: FileRun): Events {
  const s = DEFAULT_SMOOTHING;
  const sm = new PosteriorSmoother(1500);
  const m = new EmotionStateMachine(engine.labels, { margin: 0.1, dwellMs: 1000 });
  const ev: Events = [];
  for (const { probs, w } of r.windows) {
    let e;
    if (w.speech >= s.minSpeech) e = m.speech(sm.update(probs, w.endMs), w.endMs);
    else {
      sm.reset();
      e = m.silence(w.endMs);
    }
    if (e) ev.push(e);
  }
  const e = m.silence(r.audioMs);
  if (e) ev.push(e);
  return ev;
}
function score(set: FileRun[], replay: (r: FileRun) => Events) {
  let first = 0,
    final = 0,
    none = 0;
  for (const r of set) {
    const ev = replay(r);
    if (ev.length === 0) {
      none++;
      continue;
    }
    if (ev[0].label === r.truth) first++;
    if (ev[ev.length - 1].label === r.truth) final++;
  }
  return { first, final, none, n: set.length };
}
/** Mean window posterior over speech windows: what the windows themselves support. */
function meanRight(set: FileRun[]): number {
  return set.filter((r) => {
    const sp = r.windows.filter(({ w }) => w.speech >= DEFAULT_SMOOTHING.minSpeech);
    const k = engine.labels.length;
    const m = new Array(k).fill(0);
    for (const { probs } of sp) for (let c = 0; c < k; c++) m[c] += probs[c];
    return engine.labels[m.indexOf(Math.max(...m))] === r.truth;
  }).length;
}

const tune = runs.filter((r) => r.actor <= 12);
const test = runs.filter((r) => r.actor > 12);
const grid: Record<string, number>[] = [];
for (const timeConstantMs of [0, 500, 1000, 1500, 3000, 6000])
  for (const margin of [0, 0.05, 0.1, 0.2])
    for (const dwellMs of [0, 500, 1000, 1500])
      for (const firstEventSpeechMs of [0, 500, 1000, 1500, 2000]) grid.push({ timeConstantMs, margin, dwellMs, firstEventSpeechMs });
const scored = grid.map((over) => ({ over, s: score(tune, (r) => replayNew(r, over)) }));
// Best first + final on the tuning actors; the grid's order breaks ties (shorter τ, margin, dwell first).
const best = scored.reduce((a, b) => (b.s.first + b.s.final > a.s.first + a.s.final ? b : a));
const fmt = (s: ReturnType<typeof score>) =>
  `first event right ${s.first}/${s.n}, final state right ${s.final}/${s.n}${s.none ? `, no event ${s.none}` : ''}`;
console.log(`files: ${tune.length} for tuning (actors 1-12), ${test.length} reported (actors 13-24); hop 500 ms, early window at 1 s`);
console.log(`chosen on actors 1-12: ${JSON.stringify(best.over)} → ${fmt(best.s)}`);
for (const { over, s } of [...scored].sort((a, b) => b.s.first + b.s.final - (a.s.first + a.s.final)).slice(0, 8))
  console.log(`  tuning: ${JSON.stringify(over)} → ${fmt(s)}`);
for (const dwellMs of [500, 1000])
  console.log(`  tuning, chosen but dwell ${dwellMs}: ${fmt(score(tune, (r) => replayNew(r, { ...best.over, dwellMs })))}`);
console.log(`actors 13-24, chosen settings:  ${fmt(score(test, (r) => replayNew(r, best.over)))}`);
console.log(`actors 13-24, new defaults:     ${fmt(score(test, (r) => replayNew(r, {})))}`);
console.log(`actors 13-24, old decisions:    ${fmt(score(test, replayOld))}`);
console.log(`actors 13-24, mean of the speech windows' posteriors right: ${meanRight(test)}/${test.length}`);
console.log(`actors 1-12, old decisions:     ${fmt(score(tune, replayOld))}; mean right ${meanRight(tune)}/${tune.length}`);
