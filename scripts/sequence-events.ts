// The emotion state shown 0.9 s after each utterance ends, in sequences of six RAVDESS speech
// utterances (actors 13–24, random order, seeded) separated by 1 s of quiet, streamed through
// the server's front end with the demo page's settings (hop 500 ms, early window at 1 s), the
// model once, then the server's decisions (src/server/track.ts, defaults) and the old ones.
// "Shown" = the label of the latest start/change at or before that moment, none after an end.
//
//   node --import tsx scripts/sequence-events.ts [model dir, default models/basic-4]
import { from, lastValueFrom, toArray } from 'rxjs';
import { StreamFrontEnd, type PlacedWindow } from '../src/dsp/stream-front-end.js';
import { loadEngine } from '../src/inference/load-engine.js';
import { readWavFile } from '../src/ingest/wav.js';
import { EmotionStateMachine } from '../src/server/hysteresis.js';
import { resolveStart } from '../src/server/settings.js';
import { PosteriorSmoother } from '../src/server/smoothing.js';
import { Track } from '../src/server/track.js';
import { ravdessSpeechFiles, seededRandom, shuffle, stitch } from '../src/bench/sequences.js';

const MODEL = process.argv[2] ?? 'models/basic-4';
const GAP = 16000; // 1 s of quiet

const rand = seededRandom(11);
const files = shuffle(
  ravdessSpeechFiles(undefined, (actor) => actor > 12),
  rand,
);

const engine = await loadEngine(MODEL);
const s = resolveStart({ type: 'start', audio: { sampleRate: 16000, encoding: 'f32le', channels: 1 }, hopMs: 500, minWindowMs: 1000 });
type Ev = { kind: string; label: string; atMs: number };
let right = { now: 0, old: 0, windows: 0 };
let n = 0;
for (let at = 0; at + 6 <= files.length; at += 6) {
  const group = files.slice(at, at + 6);
  const utterances: Float32Array[] = [];
  for (const f of group) {
    const w = await readWavFile(f.path);
    if (w.format.sampleRate !== 16000 || w.format.channels !== 1) throw new Error(`${f.path}: expected 16 kHz mono`);
    utterances.push(w.samples);
  }
  const { samples: x, spans } = stitch(utterances, GAP, rand);
  const ends = spans.map((sp) => sp.endMs);
  const fe = new StreamFrontEnd({
    format: { sampleRate: 16000, channels: 1 },
    hopMs: s.hopMs,
    minWindowMs: s.minWindowMs,
    vad: { thresholdDb: 9, minDbfs: -55 },
  });
  const items = await lastValueFrom(fe.segment(from([{ format: { sampleRate: 16000, channels: 1 }, samples: x }])).pipe(toArray()));
  const ws = items.filter((i): i is PlacedWindow => i.kind === 'window');
  const probs = await engine.infer(ws.map((w) => w.data));
  const track = new Track(0, s, engine.labels, () => {});
  const sm = new PosteriorSmoother(1500);
  const old = new EmotionStateMachine(engine.labels, { margin: 0.1, dwellMs: 1000 });
  const evNow: Ev[] = [];
  const evOld: Ev[] = [];
  ws.forEach((w, k) => {
    const e = track.window(probs[k], w);
    if (e) evNow.push(e);
    const o2 = w.speech >= 0.25 ? old.speech(sm.update(probs[k], w.endMs), w.endMs) : (sm.reset(), old.silence(w.endMs));
    if (o2) evOld.push(o2);
  });
  const shown = (ev: Ev[], t: number) => {
    const last = ev.filter((e) => e.atMs <= t).pop();
    return last && last.kind !== 'end' ? last.label : undefined;
  };
  group.forEach((f, i) => {
    const t = ends[i] + 900;
    n++;
    if (shown(evNow, t) === f.truth) right.now++;
    if (shown(evOld, t) === f.truth) right.old++;
    // What the windows support: the mean posterior of the speech windows ending inside this utterance.
    const start = i === 0 ? 0 : ends[i - 1] + 1000;
    const mine = ws.map((w, k) => ({ w, p: probs[k] })).filter(({ w }) => w.endMs > start && w.endMs <= ends[i] + 500 && w.speech >= 0.25);
    const m = new Array(engine.labels.length).fill(0);
    for (const { p } of mine) p.forEach((v, c) => (m[c] += v));
    if (mine.length && engine.labels[m.indexOf(Math.max(...m))] === f.truth) right.windows++;
  });
}
await engine.dispose();
const pct = (k: number) => `${k}/${n} (${((100 * k) / n).toFixed(0)} %)`;
console.log(`${n} utterances in ${n / 6} sequences of 6 (actors 13-24), 1 s of quiet between; hop 500 ms, early window 1 s`);
console.log(`state shown 0.9 s after each utterance right: now ${pct(right.now)}, before ${pct(right.old)}`);
console.log(`mean posterior of the speech windows ending in the utterance right: ${pct(right.windows)}`);
