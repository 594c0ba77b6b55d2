// Speech turns from the voice-activity detector: the feature frames of each run of speech, cut
// into the utterance windows the trainer scores utterances with, ready to be scored as one
// utterance as soon as the run ends. A turn shorter than `minMs` is dropped (a cough, a click);
// one longer than `maxMs` is cut there and continues as a new turn, so a monologue still gets
// timely results.
//
// The VAD runs on samples ahead of the feature frames (which wait for look-ahead), so one chunk
// of audio can end a run and start the next before the first run's frames have arrived: runs
// are kept in a queue until their frames are in.
import { FRAME_MS, FRAME_SIZE } from './types.js';
import { cutWindow, utteranceWindows } from './utterance.js';

export interface TurnOptions {
  /** Turns shorter than this are dropped, ms (default 300). */
  minMs?: number;
  /** Turns are cut at this length, ms (default 10 000). */
  maxMs?: number;
}

export const DEFAULT_TURNS: Required<TurnOptions> = { minMs: 300, maxMs: 10000 };

/** A finished turn: stream frames [startFrame, endFrame) and the model windows that cover it. */
export interface CutTurn {
  startFrame: number;
  endFrame: number;
  windows: Float32Array[];
}

/** A run of speech whose frames are still arriving. */
interface Run {
  start: number;
  /** Set once the VAD has ended the run. */
  end?: number;
  buf: Float32Array;
  frames: number;
}

export class TurnCutter {
  private readonly minFrames: number;
  private readonly maxFrames: number;
  /** Oldest first; only the last may still be open (no end). */
  private readonly runs: Run[] = [];

  constructor(opts: TurnOptions = {}) {
    const o = { ...DEFAULT_TURNS, ...opts };
    this.minFrames = Math.max(1, Math.round(o.minMs / FRAME_MS));
    this.maxFrames = Math.max(this.minFrames, Math.round(o.maxMs / FRAME_MS));
  }

  /** A VAD transition at stream time atMs. */
  speech(active: boolean, atMs: number): void {
    const frame = Math.round(atMs / FRAME_MS);
    const open = this.open();
    if (active) {
      if (open) open.end = frame; // cannot happen with a well-formed VAD: close it rather than lose it
      this.runs.push({ start: frame, buf: new Float32Array(0), frames: 0 });
    } else if (open) open.end = frame;
  }

  /** Feature frame number `index` of the stream; returns the turns it completes. */
  frame(index: number, frame: Float32Array): CutTurn[] {
    const out: CutTurn[] = [];
    for (const run of this.runs) {
      // Frames arrive once each, in order: a run takes those from its start up to its end.
      if (index >= run.start + run.frames && (run.end === undefined || index < run.end)) append(run, frame);
    }
    while (this.runs.length) {
      const run = this.runs[0];
      if (run.end !== undefined && index + 1 >= run.end) {
        this.emit(run, run.end, out);
        this.runs.shift();
      } else if (run.end === undefined && run.frames >= this.maxFrames) {
        const cut = run.start + run.frames;
        this.emit(run, cut, out);
        this.runs[0] = { start: cut, buf: run.buf, frames: 0 };
      } else break;
    }
    return out;
  }

  /** End of a segment at stream frame `endFrame`: every run is cut there; one still open
   *  continues after `nextStart` (where the next segment's frames begin). */
  flush(endFrame: number, nextStart = endFrame): CutTurn[] {
    const out: CutTurn[] = [];
    const open = this.open();
    for (const run of this.runs) this.emit(run, Math.min(run.end ?? endFrame, run.start + run.frames), out);
    this.runs.length = 0;
    if (open && open.end === undefined) this.runs.push({ start: nextStart, buf: new Float32Array(0), frames: 0 });
    return out;
  }

  private open(): Run | undefined {
    const last = this.runs[this.runs.length - 1];
    return last && last.end === undefined ? last : undefined;
  }

  private emit(run: Run, end: number, out: CutTurn[]): void {
    const n = Math.min(end - run.start, run.frames);
    if (n >= this.minFrames) {
      const data = run.buf.subarray(0, n * FRAME_SIZE);
      out.push({ startFrame: run.start, endFrame: run.start + n, windows: utteranceWindows(n).map((w) => cutWindow(data, w)) });
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
