// The live pipeline replayed offline: stitched sequences go through the server's streaming
// front end (voice activity, windows, turns) and the model once; the decisions (src/server/
// track.ts) can then be replayed for any smoothing settings in microseconds. Used to tune the
// decision settings on one set of speakers and report them on another (scripts/tune-heldout.ts)
// and to see, file by file, why a turn's `utterance` label differs from the file's own
// utterance-level label.
import { from, lastValueFrom, toArray } from 'rxjs';
import { computeFeatures } from '../dsp/features.js';
import { loadAudio16k } from '../dsp/load.js';
import { StreamFrontEnd, type FrontEndItem, type PlacedTurn, type PlacedWindow } from '../dsp/stream-front-end.js';
import type { TurnOptions } from '../dsp/turns.js';
import { SAMPLE_RATE } from '../dsp/types.js';
import type { Engine } from '../inference/engine.js';
import { meanPosterior, scoreUtterance } from '../inference/utterance.js';
import type { SmoothingSettings } from '../protocol/messages.js';
import { resolveStart, type SessionSettings } from '../server/settings.js';
import { Track } from '../server/track.js';
import { score, type Score } from './events.js';
import { seededRandom, stitch, type LabelledFile } from './sequences.js';

export interface ReplayOptions {
  /** Utterances per sequence (one session each); 1 = one file per session. */
  perSequence: number;
  gapMs: number;
  /** The session's settings (the demo page's by default: hop 500 ms, an early window at 1 s). */
  hopMs?: number;
  minWindowMs?: number;
  /** Chunk size the client sends, ms: an event is visible once the chunk completing its window has gone out. */
  chunkMs?: number;
  seed?: number;
  /** The turn cutter's settings (the server's DEFAULT_TURNS unless given). */
  turns?: TurnOptions;
}

export interface ReplayedTurn {
  startMs: number;
  endMs: number;
  probs: Float32Array;
  /** Model windows the turn was scored with. */
  windows: number;
  endsRun: boolean;
  /** Place among the front end's items (windows and turns), and when a client could have it. */
  order: number;
  visibleMs: number;
}

export interface ReplayedSequence {
  files: LabelledFile[];
  /** Where each file lies in the sequence, ms. */
  spans: { startMs: number; endMs: number }[];
  windows: { probs: Float32Array; w: PlacedWindow; visibleMs: number; order: number }[];
  turns: ReplayedTurn[];
  audioMs: number;
  /** Each file scored offline as one utterance (mean window posterior), in `files` order. */
  utteranceLevel: Float32Array[];
}

/** The files in sequences of `perSequence`, each through the front end and `engine` once. */
export async function replaySequences(engine: Engine, files: LabelledFile[], o: ReplayOptions): Promise<ReplayedSequence[]> {
  const rand = seededRandom(o.seed ?? 11);
  const chunkMs = o.chunkMs ?? 20;
  const chunkSamples = (SAMPLE_RATE * chunkMs) / 1000;
  const settings = sessionSettings(o, {});
  const out: ReplayedSequence[] = [];
  for (let at = 0; at < files.length; at += o.perSequence) {
    const group = files.slice(at, at + o.perSequence);
    const signals = await Promise.all(group.map((f) => loadAudio16k(f.path)));
    const utteranceLevel: Float32Array[] = [];
    for (const s of signals) utteranceLevel.push((await scoreUtterance(engine, computeFeatures(s))).probs);
    const { samples, spans } = stitch(signals, Math.round((o.gapMs / 1000) * SAMPLE_RATE), rand);
    const fe = new StreamFrontEnd({
      format: { sampleRate: SAMPLE_RATE, channels: 1 },
      hopMs: settings.hopMs,
      minWindowMs: settings.minWindowMs,
      vad: { thresholdDb: settings.smoothing.vadThresholdDb, minDbfs: settings.smoothing.vadMinDbfs },
      turns: o.turns,
    });
    // In the client's chunks, as a live session gets them: the voice-activity detector then decides
    // a run's end only as its hangover goes by, so turns fall among the windows where they do live
    // (one big chunk would let it decide every run before the first window).
    const chunks = [];
    for (let at = 0; at < samples.length; at += chunkSamples)
      chunks.push({ format: { sampleRate: SAMPLE_RATE, channels: 1 }, samples: samples.subarray(at, at + chunkSamples) });
    const items = await lastValueFrom(fe.segment(from(chunks)).pipe(toArray()));
    const visible = (i: FrontEndItem) => Math.ceil((i.lastInputFrame + 1) / chunkSamples) * chunkMs;
    const order = new Map(items.map((it, k) => [it, k]));
    const ws = items.filter((i): i is PlacedWindow => i.kind === 'window');
    const probs = ws.length ? await engine.infer(ws.map((w) => w.data)) : [];
    const turns: ReplayedTurn[] = [];
    for (const t of items.filter((i): i is PlacedTurn => i.kind === 'turn')) {
      const p = await engine.infer(t.windows);
      const probs = meanPosterior(p, engine.labels.length);
      const { startMs, endMs, endsRun } = t;
      turns.push({ startMs, endMs, endsRun, probs, windows: p.length, order: order.get(t)!, visibleMs: visible(t) });
    }
    out.push({
      files: group,
      spans,
      windows: ws.map((w, k) => ({ probs: probs[k], w, visibleMs: visible(w), order: order.get(w)! })),
      turns,
      audioMs: (samples.length / SAMPLE_RATE) * 1000,
      utteranceLevel,
    });
  }
  return out;
}

function sessionSettings(o: Pick<ReplayOptions, 'hopMs' | 'minWindowMs'>, smoothing: SmoothingSettings): SessionSettings {
  return resolveStart({
    type: 'start',
    audio: { sampleRate: SAMPLE_RATE, encoding: 'f32le', channels: 1 },
    hopMs: o.hopMs ?? 500,
    minWindowMs: o.minWindowMs ?? 1000,
    smoothing,
  });
}

export interface ReplayedEvent {
  kind: string;
  label: string;
  atMs: number;
  /** When the client could have it: the chunk completing the deciding window has been sent. */
  visibleMs: number;
}

/** The server's `emotion` events for one replayed sequence with these smoothing settings. */
export function replayEvents(
  seq: ReplayedSequence,
  labels: readonly string[],
  smoothing: SmoothingSettings,
  o: Pick<ReplayOptions, 'hopMs' | 'minWindowMs'> = {},
): ReplayedEvent[] {
  const track = new Track(0, sessionSettings(o, smoothing), labels, () => {});
  const ev: ReplayedEvent[] = [];
  // Windows and turns in the order the front end placed them, as the session sees their results.
  const items = [
    ...seq.windows.map((x) => ({ order: x.order, visibleMs: x.visibleMs, decide: () => track.window(x.probs, x.w) })),
    ...seq.turns.map((t) => ({ order: t.order, visibleMs: t.visibleMs, decide: () => track.turn(t.probs, t) })),
  ].sort((a, b) => a.order - b.order);
  for (const { decide, visibleMs } of items) {
    const e = decide();
    if (e) ev.push({ kind: e.kind, label: e.label, atMs: e.atMs, visibleMs });
  }
  const e = track.silence(seq.audioMs);
  if (e) ev.push({ kind: e.kind, label: e.label, atMs: e.atMs, visibleMs: seq.audioMs });
  return ev;
}

const top = (p: ArrayLike<number>, labels: readonly string[]) => {
  let b = 0;
  for (let c = 1; c < p.length; c++) if (p[c] > p[b]) b = c;
  return labels[b];
};

/** One file's outcome in a replay. */
export interface FileOutcome {
  path: string;
  truth: string;
  /** Its own utterance-level label (offline, whole file). */
  utteranceLevel: string;
  /** The `utterance` label of the turn overlapping it most; undefined = no turn. */
  utterance: string | undefined;
  /** Turns it owns (overlapping it more than any other file) and how many windows scored its main turn. */
  turns: number;
  mainTurn?: { startMs: number; endMs: number; windows: number };
  span: { startMs: number; endMs: number };
  /** First start/change event from the file's start to the next file's start; undefined = none. */
  firstEvent: string | undefined;
  /** The state shown 1 s after its turn ended (none after an `end`). */
  stateAfter1s: string | undefined;
}

/** Each file's outcome, the way the events benchmark scores a live run (src/bench/events.ts). */
export function outcomes(
  seqs: ReplayedSequence[],
  labels: readonly string[],
  smoothing: SmoothingSettings,
  o: Pick<ReplayOptions, 'hopMs' | 'minWindowMs'> = {},
): FileOutcome[] {
  const out: FileOutcome[] = [];
  for (const seq of seqs) {
    const events = replayEvents(seq, labels, smoothing, o);
    const owner = seq.turns.map((t) => {
      const ov = seq.spans.map((sp) => Math.min(sp.endMs, t.endMs) - Math.max(sp.startMs, t.startMs));
      const best = Math.max(...ov);
      return best > 0 ? ov.indexOf(best) : -1;
    });
    seq.files.forEach((f, k) => {
      const sp = seq.spans[k];
      const mine = seq.turns.filter((_, j) => owner[j] === k);
      const overlap = (t: ReplayedTurn) => Math.min(sp.endMs, t.endMs) - Math.max(sp.startMs, t.startMs);
      const main = mine.reduce<ReplayedTurn | undefined>((a, b) => (!a || overlap(b) > overlap(a) ? b : a), undefined);
      const turnEnd = mine.length ? mine[mine.length - 1].endMs : sp.endMs;
      const last = events.filter((e) => e.visibleMs <= turnEnd + 1000).pop();
      const nextStart = k + 1 < seq.spans.length ? seq.spans[k + 1].startMs : Infinity;
      const first = events.find((e) => e.kind !== 'end' && e.atMs >= sp.startMs && e.atMs < nextStart);
      out.push({
        path: f.path,
        truth: f.truth,
        utteranceLevel: top(seq.utteranceLevel[k], labels),
        utterance: main && top(main.probs, labels),
        turns: mine.length,
        mainTurn: main && { startMs: main.startMs, endMs: main.endMs, windows: main.windows },
        span: sp,
        firstEvent: first?.label,
        stateAfter1s: last && last.kind !== 'end' ? last.label : undefined,
      });
    });
  }
  return out;
}

export interface ReplayScores {
  utteranceLevel: Score;
  utterance: Score;
  firstEvent: Score;
  stateAfter1s: Score;
}

export function scoreOutcomes(os: FileOutcome[]): ReplayScores {
  const s = (pick: (o: FileOutcome) => string | undefined) => score(os.map((o) => ({ truth: o.truth, label: pick(o) })));
  return {
    utteranceLevel: s((o) => o.utteranceLevel),
    utterance: s((o) => o.utterance),
    firstEvent: s((o) => o.firstEvent),
    stateAfter1s: s((o) => o.stateAfter1s),
  };
}
