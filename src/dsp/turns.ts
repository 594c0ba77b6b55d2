// Speech turns from the voice-activity detector: the feature frames of each run of speech, cut
// into the utterance windows the trainer scores utterances with, ready to be scored as one
// utterance as soon as the run ends. A turn shorter than `minMs` is dropped (a cough, a click);
// one longer than `maxMs` is cut there and continues as a new turn, so a monologue still gets
// timely results.
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

export class TurnCutter {
  private readonly minFrames: number;
  private readonly maxFrames: number;
  /** Frame where the open turn starts; undefined when no turn is open. */
  private start: number | undefined;
  /** Where the open turn ends, once the VAD has said so. */
  private end: number | undefined;
  private buf = new Float32Array(0);
  private frames = 0; // frames held in buf, from `start`

  constructor(opts: TurnOptions = {}) {
    const o = { ...DEFAULT_TURNS, ...opts };
    this.minFrames = Math.max(1, Math.round(o.minMs / FRAME_MS));
    this.maxFrames = Math.max(this.minFrames, Math.round(o.maxMs / FRAME_MS));
  }

  /** A VAD transition at stream time atMs. */
  speech(active: boolean, atMs: number): void {
    const frame = Math.round(atMs / FRAME_MS);
    if (active) {
      this.start = frame;
      this.end = undefined;
      this.frames = 0;
    } else if (this.start !== undefined) this.end = frame;
  }

  /** Feature frame number `index` of the stream; returns the turns it completes. */
  frame(index: number, frame: Float32Array): CutTurn[] {
    const out: CutTurn[] = [];
    if (this.start === undefined || index < this.start) return out;
    if (this.end === undefined || index < this.end) this.append(frame);
    if (this.end !== undefined && index + 1 >= this.end) {
      this.emit(this.end, out);
      this.start = undefined;
    } else if (this.frames >= this.maxFrames) {
      const cut = this.start + this.frames;
      this.emit(cut, out);
      this.start = cut;
    }
    return out;
  }

  /** End of a segment at stream frame `endFrame`: an open turn is cut there and, if speech goes on, continues after it. */
  flush(endFrame: number): CutTurn[] {
    const out: CutTurn[] = [];
    if (this.start === undefined) return out;
    const end = this.end ?? Math.min(endFrame, this.start + this.frames);
    this.emit(end, out);
    this.start = this.end === undefined ? endFrame : undefined;
    this.end = undefined;
    return out;
  }

  private append(frame: Float32Array): void {
    const need = (this.frames + 1) * FRAME_SIZE;
    if (need > this.buf.length) {
      const bigger = new Float32Array(Math.max(need, this.buf.length * 2, 64 * FRAME_SIZE));
      bigger.set(this.buf.subarray(0, this.frames * FRAME_SIZE));
      this.buf = bigger;
    }
    this.buf.set(frame, this.frames * FRAME_SIZE);
    this.frames++;
  }

  private emit(end: number, out: CutTurn[]): void {
    const start = this.start!;
    const n = Math.min(end - start, this.frames);
    if (n >= this.minFrames) {
      const data = this.buf.subarray(0, n * FRAME_SIZE);
      out.push({ startFrame: start, endFrame: start + n, windows: utteranceWindows(n).map((w) => cutWindow(data, w)) });
    }
    this.frames = 0;
  }
}
