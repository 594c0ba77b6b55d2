// The live results a voice agent acts on, timed and scored: labelled utterances stitched into
// sequences with speech-free gaps, streamed in 20 ms chunks at real-time pace through a real
// server, one session per sequence (a few at a time). Scored against the files' labels
// and against the same files' utterance-level decision offline (the mean window posterior, as
// `emostream analyze` and the trainer score them).
import WebSocket from 'ws';
import { computeFeatures } from '../dsp/features.js';
import { loadAudio16k } from '../dsp/load.js';
import { SAMPLE_RATE } from '../dsp/types.js';
import { loadEngine } from '../inference/load-engine.js';
import { scoreUtterance } from '../inference/utterance.js';
import { toS16le } from './corpus.js';
import { seededRandom, stitch, type LabelledFile } from './sequences.js';

export interface EventsBenchOptions {
  wsUrl: string;
  token?: string;
  /** The model the server serves (scored offline on the same files). */
  modelDir: string;
  files: LabelledFile[];
  /** Utterances per sequence (one session each). */
  perSequence?: number;
  gapMs?: number;
  /** Session settings: the demo page's by default (hop 500 ms, an early window at 1 s). */
  hopMs?: number;
  minWindowMs?: number;
  chunkMs?: number;
  /** Sessions streamed at once (default 2): timing events, not capacity, so few at a time. */
  concurrency?: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface Spread {
  n: number;
  p50: number;
  p90: number;
}

export interface Score {
  right: number;
  n: number;
  /** right / n. */
  accuracy: number;
  /** Unweighted accuracy: the mean of the per-class recalls (classes present in the truth). */
  ua: number;
}

export interface EventsResult {
  files: number;
  sequences: number;
  perSequence: number;
  gapMs: number;
  hopMs: number;
  minWindowMs: number;
  /** The same files scored offline as whole utterances (mean window posterior). */
  utteranceLevel: Score;
  /** The `utterance` message of each file's turn (the turn overlapping it most); none = wrong. */
  utteranceMessages: Score & { turns: number; filesWithoutTurn: number };
  /** The emotion shown (latest `emotion` event received, none after an `end`) 1 s of stream
   *  time after the file's turn ended. */
  stateAfter1s: Score;
  /** The first `emotion` start/change decided inside the file (from its start to the next
   *  file's); none = wrong. With one file per sequence: the session's first event (in a
   *  sequence a turn whose label is already shown sends none, so read it with perSequence 1). */
  firstEvent: Score;
  /** Turn start → the first `emotion` start/change with the right label received (stream
   *  position at its arrival), before the next utterance begins; `never` = none arrived. */
  firstRightEventMs: Spread & { never: number };
  /** A turn's end (its `endMs`) → its `utterance` message: stream position at arrival − endMs,
   *  and wall clock since the chunk holding endMs was sent. */
  utteranceDelayStreamMs: Spread;
  utteranceDelayWallMs: Spread;
  /** Sessions whose `end` did not arrive. */
  unfinished: number;
  concurrency: number;
  /** `error` messages by code (e.g. `overloaded`: the server fell behind and skipped windows). */
  errors: Record<string, number>;
  /** How late the client sent a chunk at worst, ms (large = the client itself lagged). */
  clientLagMs: number;
  /** Each file's outcome (JSON report only): where the rows above come from. */
  perFile: {
    path: string;
    truth: string;
    utteranceLevel: string;
    utterance: string | undefined;
    turns: number;
    firstEvent: string | undefined;
    stateAfter1s: string | undefined;
  }[];
}

export function spread(xs: number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] : NaN);
  return { n: s.length, p50: at(0.5), p90: at(0.9) };
}

export function score(pairs: { truth: string; label: string | undefined }[]): Score {
  const right = pairs.filter((p) => p.label === p.truth).length;
  const classes = [...new Set(pairs.map((p) => p.truth))];
  const recall = classes.map((c) => {
    const of = pairs.filter((p) => p.truth === c);
    return of.filter((p) => p.label === c).length / of.length;
  });
  return {
    right,
    n: pairs.length,
    accuracy: pairs.length ? right / pairs.length : NaN,
    ua: classes.length ? recall.reduce((a, b) => a + b, 0) / classes.length : NaN,
  };
}

interface Received {
  m: { type: string; [k: string]: unknown };
  wallMs: number;
  /** Audio sent when it arrived, ms of stream time. */
  posMs: number;
}

interface Utterance {
  startMs: number;
  endMs: number;
  label: string;
}

/** One sequence through one session at real-time pace: every message with its arrival. */
async function streamSequence(o: EventsBenchOptions, signal: Float32Array, chunkMs: number) {
  const audio = toS16le(signal);
  const chunkBytes = (SAMPLE_RATE * chunkMs * 2) / 1000;
  const chunks = Math.ceil(audio.length / chunkBytes);
  const sendTimes = new Float64Array(chunks);
  const got: Received[] = [];
  let sent = 0;
  let ended = false;
  let lag = 0;
  const headers: Record<string, string> = o.token ? { authorization: `Bearer ${o.token}` } : {};
  const ws = new WebSocket(`${o.wsUrl}v1/stream`, 'emostream.v1.json', { perMessageDeflate: false, headers });
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const m = JSON.parse(String(data)) as Received['m'];
      got.push({ m, wallMs: performance.now(), posMs: sent * chunkMs });
      if (m.type === 'ready') resolve();
      if (m.type === 'end') ended = true;
      if (m.type === 'error' && m.fatal) reject(new Error(`server: ${String(m.code)}: ${String(m.message)}`));
    });
    ws.once('error', reject);
    ws.once('open', () =>
      ws.send(
        JSON.stringify({
          type: 'start',
          audio: { sampleRate: SAMPLE_RATE, encoding: 's16le', channels: 1 },
          hopMs: o.hopMs ?? 500,
          minWindowMs: o.minWindowMs ?? 1000,
          posteriors: false,
        }),
      ),
    );
  });
  const t0 = performance.now();
  await new Promise<void>((done) => {
    const pump = () => {
      // Chunk k exists at t0 + (k + 1)·chunkMs, as from a live source; it goes out then.
      while (sent < chunks && t0 + (sent + 1) * chunkMs <= performance.now()) {
        lag = Math.max(lag, performance.now() - (t0 + (sent + 1) * chunkMs));
        ws.send(audio.subarray(sent * chunkBytes, (sent + 1) * chunkBytes), { binary: true });
        sendTimes[sent++] = performance.now();
      }
      if (sent === chunks) {
        ws.send(JSON.stringify({ type: 'stop' }));
        return done();
      }
      setTimeout(pump, 2);
    };
    pump();
  });
  const deadline = performance.now() + 15_000;
  while (!ended && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  ws.terminate();
  return { got, sendTimes, ended, lag };
}

export async function runEventsBench(o: EventsBenchOptions): Promise<EventsResult> {
  const log = o.log ?? (() => {});
  const per = o.perSequence ?? 6;
  const gapMs = o.gapMs ?? 1000;
  const chunkMs = o.chunkMs ?? 20;
  const rand = seededRandom(o.seed ?? 11);
  const signals = await Promise.all(o.files.map((f) => loadAudio16k(f.path)));

  // Offline, before streaming, so the two do not compete for the CPU.
  const engine = await loadEngine(o.modelDir);
  const offline: string[] = [];
  for (const s of signals) {
    const { probs } = await scoreUtterance(engine, computeFeatures(s));
    offline.push(engine.labels[probs.indexOf(Math.max(...probs))]);
  }
  await engine.dispose();

  const groups: number[][] = [];
  for (let i = 0; i < o.files.length; i += per) groups.push(o.files.slice(i, i + per).map((_, k) => i + k));
  const concurrency = o.concurrency ?? 2;
  const gapSamples = Math.round((gapMs / 1000) * SAMPLE_RATE);
  const stitched = groups.map((g) =>
    stitch(
      g.map((i) => signals[i]),
      gapSamples,
      rand,
    ),
  );
  log(
    `events: ${o.files.length} files in ${groups.length} sequence(s), ${gapMs} ms gaps, ` +
      `${(stitched.reduce((n, s) => n + s.samples.length, 0) / SAMPLE_RATE).toFixed(0)} s of audio, streamed in real time, ${concurrency} at a time`,
  );
  const runs: Awaited<ReturnType<typeof streamSequence>>[] = [];
  for (let i = 0; i < stitched.length; i += concurrency)
    runs.push(...(await Promise.all(stitched.slice(i, i + concurrency).map((s) => streamSequence(o, s.samples, chunkMs)))));
  const errors: Record<string, number> = {};
  for (const r of runs) for (const { m } of r.got) if (m.type === 'error') errors[String(m.code)] = (errors[String(m.code)] ?? 0) + 1;

  const uttPairs: { truth: string; label: string | undefined }[] = [];
  const statePairs: { truth: string; label: string | undefined }[] = [];
  const firstPairs: { truth: string; label: string | undefined }[] = [];
  const perFile: EventsResult['perFile'] = [];
  const firstRight: number[] = [];
  let never = 0,
    turns = 0,
    withoutTurn = 0;
  const delayStream: number[] = [],
    delayWall: number[] = [];
  groups.forEach((g, s) => {
    const { got, sendTimes } = runs[s];
    const spans = stitched[s].spans;
    const utts = got.filter((r) => r.m.type === 'utterance').map((r) => ({ r, u: r.m as unknown as Utterance }));
    const events = got.filter((r) => r.m.type === 'emotion');
    turns += utts.length;
    for (const { r, u } of utts) {
      delayStream.push(r.posMs - u.endMs);
      delayWall.push(r.wallMs - sendTimes[Math.min(sendTimes.length - 1, Math.floor(u.endMs / chunkMs))]);
    }
    // Each turn belongs to the utterance it overlaps most.
    const owner = utts.map(({ u }) => {
      const ov = spans.map((sp) => Math.min(sp.endMs, u.endMs) - Math.max(sp.startMs, u.startMs));
      const best = Math.max(...ov);
      return best > 0 ? ov.indexOf(best) : -1;
    });
    g.forEach((fileIndex, k) => {
      const truth = o.files[fileIndex].truth;
      const mine = utts.filter((_, j) => owner[j] === k);
      const sp = spans[k];
      const overlap = (u: Utterance) => Math.min(sp.endMs, u.endMs) - Math.max(sp.startMs, u.startMs);
      const main = mine.reduce<(typeof mine)[number] | undefined>((a, b) => (!a || overlap(b.u) > overlap(a.u) ? b : a), undefined);
      if (!main) withoutTurn++;
      uttPairs.push({ truth, label: main?.u.label });
      const turnStart = mine.length ? mine[0].u.startMs : sp.startMs;
      const turnEnd = mine.length ? mine[mine.length - 1].u.endMs : sp.endMs;
      // What a listener sees 1 s after the turn: the latest event that had arrived by then.
      const moment = turnEnd + 1000;
      const last = events.filter((e) => e.posMs <= moment).pop();
      statePairs.push({ truth, label: last && last.m.kind !== 'end' ? String(last.m.label) : undefined });
      const nextStart = k + 1 < spans.length ? spans[k + 1].startMs : Infinity;
      const first = events.find((e) => e.m.kind !== 'end' && Number(e.m.atMs) >= sp.startMs && Number(e.m.atMs) < nextStart);
      firstPairs.push({ truth, label: first && String(first.m.label) });
      perFile.push({
        path: o.files[fileIndex].path,
        truth,
        utteranceLevel: offline[fileIndex],
        utterance: main?.u.label,
        turns: mine.length,
        firstEvent: first && String(first.m.label),
        stateAfter1s: statePairs[statePairs.length - 1].label,
      });
      const hit = events.find(
        (e) => e.posMs >= turnStart && e.posMs < nextStart && e.m.kind !== 'end' && e.m.label === truth && Number(e.m.atMs) >= sp.startMs,
      );
      if (hit) firstRight.push(hit.posMs - turnStart);
      else never++;
    });
  });
  return {
    files: o.files.length,
    sequences: groups.length,
    perSequence: per,
    gapMs,
    hopMs: o.hopMs ?? 500,
    minWindowMs: o.minWindowMs ?? 1000,
    utteranceLevel: score(o.files.map((f, i) => ({ truth: f.truth, label: offline[i] }))),
    utteranceMessages: { ...score(uttPairs), turns, filesWithoutTurn: withoutTurn },
    stateAfter1s: score(statePairs),
    firstEvent: score(firstPairs),
    firstRightEventMs: { ...spread(firstRight), never },
    utteranceDelayStreamMs: spread(delayStream),
    utteranceDelayWallMs: spread(delayWall),
    unfinished: runs.filter((r) => !r.ended).length,
    concurrency,
    errors,
    clientLagMs: Math.max(0, ...runs.map((r) => r.lag)),
    perFile,
  };
}
