// Speech turns from the voice-activity detector: the feature frames of each run of speech, cut
// into the utterance windows the trainer scores utterances with, ready to be scored as one
// utterance as soon as the run ends. A turn shorter than `minMs` is dropped (a cough, a click);
// one longer than `maxMs` is cut there and continues as a new turn, so a monologue still gets
// timely results. The pieces after a cut are kept however short they end: the last piece is what
// tells the state machine that the run is over (`endsRun`), and a 100 ms tail of a monologue is
// speech, not a click (it is scored with the end of the piece before as its context).
//
// The VAD runs on samples ahead of the feature frames (which wait for look-ahead), so one chunk
// of audio can end a run and start the next before the first run's frames have arrived: runs
// are kept in a queue until their frames are in.
//
// A turn is scored with some of the audio around its speech (`contextBeforeMs` before it,
// `contextAfterMs` after it), not the speech alone: the model learned utterances as recorded,
// with the quiet around them, and a speech-only turn zero-padded to a window reads differently
// (RAVDESS files trimmed to their VAD turn went from sad/happy to angry; docs/results.md,
// "Emotion events"). The context after the speech is audio the VAD's hangover has already
// waited for, so it costs no delay while it is shorter than the hangover minus the look-ahead.
import { FRAME_MS, FRAME_SIZE } from './types.js';
import { cutWindow, utteranceWindows } from './utterance.js';

export interface TurnOptions {
  /** Turns shorter than this are dropped, ms (default 300). */
  minMs?: number;
  /** Turns are cut at this length, ms (default 10 000). */
  maxMs?: number;
  /** Audio before the speech scored with the turn, ms (not before the previous turn's speech ended). */
  contextBeforeMs?: number;
  /** Audio after the speech scored with the turn, ms. */
  contextAfterMs?: number;
}

// contextBeforeMs: chosen on Emo-DB speakers 03, 08, 09, 10, 11 with a model that never heard Emo-DB
// (scripts/tune-heldout.ts --turn-context; docs/results.md, "Emotion events").
export const DEFAULT_TURNS: Required<TurnOptions> = { minMs: 300, maxMs: 10000, contextBeforeMs: 500, contextAfterMs: 0 };

/** A finished turn: its speech at stream frames [startFrame, endFrame), and the model windows that
 *  cover it with its context. */
export interface CutTurn {
  startFrame: number;
  endFrame: number;
  /** The run of speech ended here (false: a long run was cut and goes on as the next turn). */
  endsRun: boolean;
  windows: Float32Array[];
}

/** A run of speech whose frames are still arriving. */
interface Run {
  /** First frame of speech. */
  start: number;
  /** First frame scored (start minus the context before it). */
  from: number;
  /** Set once the VAD has ended the run. */
  end?: number;
  buf: Float32Array;
  /** Frames in buf, from `from` on. */
  frames: number;
  /** Whether the frames before the current one (from `from` on) have been taken from the recent ones. */
  primed: boolean;
  /** A piece of a run cut at the maximum length: emitted whatever its length. */
  continued?: boolean;
}

export class TurnCutter {
  private readonly minFrames: number;
  private readonly maxFrames: number;
  private readonly beforeFrames: number;
  private readonly afterFrames: number;
  /** Oldest first; only the last may still be open (no end). */
  private readonly runs: Run[] = [];
  /** The latest frames (a ring), for the context before a run that the VAD starts after they went by. */
  private readonly recent: Float32Array;
  private readonly recentFrames: number;
  /** Frames [ringStart, seen) of the current segment are in `recent` (the newest recentFrames of them). */
  private seen = 0;
  private ringStart = 0;
  /** Where the latest run's speech ended (its context before cannot reach back past it). */
  private lastEnd = 0;

  constructor(opts: TurnOptions = {}) {
    const o = { ...DEFAULT_TURNS, ...opts };
    this.minFrames = Math.max(1, Math.round(o.minMs / FRAME_MS));
    this.maxFrames = Math.max(this.minFrames, Math.round(o.maxMs / FRAME_MS));
    this.beforeFrames = Math.max(0, Math.round(o.contextBeforeMs / FRAME_MS));
    this.afterFrames = Math.max(0, Math.round(o.contextAfterMs / FRAME_MS));
    // The VAD is a few frames ahead of the features (look-ahead, onset): 64 frames spare.
    this.recentFrames = this.beforeFrames ? this.beforeFrames + 64 : 0;
    this.recent = new Float32Array(this.recentFrames * FRAME_SIZE);
  }

  /** A VAD transition at stream time atMs. */
  speech(active: boolean, atMs: number): void {
    const frame = Math.round(atMs / FRAME_MS);
    const open = this.open();
    if (active) {
      if (open) this.close(open, frame); // cannot happen with a well-formed VAD: close it rather than lose it
      const from = Math.max(0, frame - this.beforeFrames, Math.min(frame, this.lastEnd));
      this.runs.push({ start: frame, from, buf: new Float32Array(0), frames: 0, primed: from === frame });
    } else if (open) this.close(open, frame);
  }

  /** Feature frame number `index` of the stream; returns the turns it completes. */
  frame(index: number, frame: Float32Array): CutTurn[] {
    const out: CutTurn[] = [];
    for (const run of this.runs) {
      if (!run.primed && index >= run.from) this.prime(run, index);
      // Frames arrive once each, in order: a run takes those from its start up to its end.
      if (index >= run.from + run.frames && (run.end === undefined || index < run.end + this.afterFrames)) append(run, frame);
    }
    if (this.recentFrames) {
      this.recent.set(frame, (index % this.recentFrames) * FRAME_SIZE);
      this.seen = index + 1;
    }
    while (this.runs.length) {
      const run = this.runs[0];
      if (run.end !== undefined && index + 1 >= run.end + this.afterFrames) {
        this.emit(run, run.end, out, true);
        this.runs.shift();
      } else if (run.end === undefined && run.from + run.frames - run.start >= this.maxFrames) {
        const cut = run.from + run.frames;
        this.emit(run, cut, out, false);
        // The next piece's context before is the end of this one (emit copied what it needed).
        const lead = Math.min(this.beforeFrames, cut - run.from);
        run.buf.copyWithin(0, (cut - lead - run.from) * FRAME_SIZE, (cut - run.from) * FRAME_SIZE);
        this.runs[0] = { start: cut, from: cut - lead, buf: run.buf, frames: lead, primed: true, continued: true };
      } else break;
    }
    return out;
  }

  private close(run: Run, frame: number): void {
    run.end = frame;
    this.lastEnd = frame;
  }

  /** The frames [run.from, index) went by before the VAD started the run: take them from the recent ones. */
  private prime(run: Run, index: number): void {
    run.primed = true;
    const oldest = Math.max(this.ringStart, this.seen - this.recentFrames);
    run.from = Math.max(run.from, oldest);
    for (let f = run.from; f < Math.min(index, this.seen); f++) {
      const at = (f % this.recentFrames) * FRAME_SIZE;
      append(run, this.recent.subarray(at, at + FRAME_SIZE));
    }
    // Frames the ring did not hold (cannot happen with the spare above): start the context later.
    run.from = index - run.frames;
  }

  /** End of a segment at stream frame `endFrame`: every run is cut there and counts as ended (the
   *  segment's windows end with it); one still open continues after `nextStart` (where the next
   *  segment's frames begin) as a new run. */
  flush(endFrame: number, nextStart = endFrame): CutTurn[] {
    const out: CutTurn[] = [];
    const open = this.open();
    for (const run of this.runs) this.emit(run, Math.min(run.end ?? endFrame, run.from + run.frames), out, true);
    this.runs.length = 0;
    // The next segment's frames start at nextStart: no context reaches back across the break.
    this.seen = this.ringStart = nextStart;
    if (open && open.end === undefined)
      this.runs.push({ start: nextStart, from: nextStart, buf: new Float32Array(0), frames: 0, primed: true });
    return out;
  }

  private open(): Run | undefined {
    const last = this.runs[this.runs.length - 1];
    return last && last.end === undefined ? last : undefined;
  }

  /** The run's speech ends at `end`: a turn if it is long enough, scored with its context. */
  private emit(run: Run, end: number, out: CutTurn[], endsRun: boolean): void {
    const speechEnd = Math.min(end, run.from + run.frames);
    const n = Math.min(end + this.afterFrames - run.from, run.frames);
    if (speechEnd - run.start >= this.minFrames || (run.continued && speechEnd > run.start)) {
      const data = run.buf.subarray(0, n * FRAME_SIZE);
      out.push({ startFrame: run.start, endFrame: speechEnd, endsRun, windows: utteranceWindows(n).map((w) => cutWindow(data, w)) });
    }
    run.frames = 0;
  }
}

function append(run: Run, frame: Float32Array): void {
  const need = (run.frames + 1) * FRAME_SIZE;
  if (need > run.buf.length) {
    const bigger = new Float32Array(Math.max(need, run.buf.length * 2, 64 * FRAME_SIZE));
    bigger.set(run.buf.subarray(0, run.frames * FRAME_SIZE));
    run.buf = bigger;
  }
  run.buf.set(frame, run.frames * FRAME_SIZE);
  run.frames++;
}
