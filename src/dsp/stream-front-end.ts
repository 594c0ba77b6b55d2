// The streaming front end of one session: audio chunks in the declared format → model windows
// placed in stream time, with the voice activity under each, and the speech turns (turns.ts)
// with their own windows as each turn ends. It owns the frame and sample arithmetic, so its
// caller (the server's session) sees only "audio in, placed windows and turns out".
//
// A stream is a sequence of segments (a `flush` ends one): each segment runs the whole front
// end to its end (the last zero-padded window comes out) and the next starts fresh; stream time,
// the VAD and window numbering continue across segments.
import { type Observable, tap } from 'rxjs';
import { stageOperator } from '../util/rx.js';
import { TurnCutter, type CutTurn, type TurnOptions } from './turns.js';
import type { AudioChunk, AudioFormat } from '../ingest/types.js';
import { toMono16k } from './convert.js';
import { logMelFeatures } from './features.js';
import { FRAME_HOP, FRAME_LENGTH, FRAME_MS, SAMPLE_RATE, type FeatureWindow } from './types.js';
import { EnergyVad, type SpeechTransition, type VadOptions } from './vad.js';
import { Windower } from './windows.js';

export interface StreamFrontEndOptions {
  /** The input's rate and channels (every chunk must have them). */
  format: AudioFormat;
  /** Window hop, ms (a multiple of FRAME_MS). */
  hopMs: number;
  /** Early-window threshold, ms (a multiple of FRAME_MS); undefined or 0 = no early windows. */
  minWindowMs?: number;
  vad: VadOptions;
  /** Speech on/off transitions, in stream order, as the VAD decides them. */
  onSpeech?(t: SpeechTransition): void;
  /** Turn length limits (turns.ts). */
  turns?: TurnOptions;
}

/** A speech turn, ready to be scored as one utterance. */
export interface PlacedTurn {
  kind: 'turn';
  startMs: number;
  endMs: number;
  /** The run of speech ended with this turn (false: cut at the maximum length, it goes on). */
  endsRun: boolean;
  /** As PlacedWindow's: the input sample frame whose arrival completed the turn. */
  lastInputFrame: number;
  /** The turn's utterance windows (src/dsp/utterance.ts). */
  windows: Float32Array[];
}

export type FrontEndItem = PlacedWindow | PlacedTurn;

/** A model window placed in the stream. */
export interface PlacedWindow {
  kind: 'window';
  /** 0, 1, 2… across the whole stream. */
  seq: number;
  startMs: number;
  /** End of the last real frame's hop, ms. */
  endMs: number;
  /** Fraction of the window's real frames that the VAD marked speech. */
  speech: number;
  /** Start of the latest speech turn that began before the window's end (undefined: none yet), ms. */
  turnStartMs: number | undefined;
  /** Speech of that turn inside the window (speech frames from the turn's start on), ms. */
  turnSpeechMs: number;
  /** Whether that turn's speech ended inside the window: the window holds all of the turn's speech
   *  it will ever hold (decided by frame times, so it does not depend on how audio was chunked). */
  turnOver: boolean;
  /** Index (at the input rate, from the stream's start) of the input sample frame whose arrival
   *  completes this window: its last real feature frame needs it. */
  lastInputFrame: number;
  early?: boolean;
  data: Float32Array;
}

/** Is `ms` on the feature-frame grid? */
export function onFrameGrid(ms: number): boolean {
  return ms % FRAME_MS === 0;
}

export class StreamFrontEnd {
  private readonly vad: EnergyVad;
  private readonly turns: TurnCutter;
  private inputFrames = 0;
  private nextSeq = 0;
  /** Frames where speech runs began, oldest first (those before the oldest window still placeable are dropped). */
  private onsets: number[] = [];
  /** Frames where speech runs ended, oldest first (pruned with the onsets). */
  private offsets: number[] = [];

  constructor(private readonly opts: StreamFrontEndOptions) {
    this.vad = new EnergyVad(opts.vad);
    this.turns = new TurnCutter(opts.turns);
  }

  /** Whether the VAD is in a speech run now. */
  get speaking(): boolean {
    return this.vad.speaking;
  }

  /** One segment of audio → its placed windows and turns. Subscribe to one segment at a time, in order. */
  segment(chunks$: Observable<AudioChunk>): Observable<FrontEndItem> {
    const frameOffset = this.vad.frames; // the previous segment has ended: its VAD frames are final
    const inputOffset = this.inputFrames;
    const minFrames = this.opts.minWindowMs ? this.opts.minWindowMs / FRAME_MS : undefined;
    return chunks$.pipe(
      tap((c) => (this.inputFrames += c.samples.length / c.format.channels)),
      toMono16k(),
      tap({ next: (s) => this.speechEvents(this.vad.push(s)), complete: () => this.speechEvents(this.vad.end()) }), // voice activity
      logMelFeatures(),
      stageOperator<Float32Array, FrontEndItem>((emit) => {
        // Frames feed the windower and the turn cutter; a turn goes out before the windows the
        // same frame completes, so items stay in stream order.
        const windower = new Windower({ hopFrames: this.opts.hopMs / FRAME_MS, minFrames });
        let local = 0;
        const turn = (t: CutTurn, at: number) => emit(this.placeTurn(t, at, inputOffset));
        return {
          push: (frame) => {
            const index = frameOffset + local++;
            for (const t of this.turns.frame(index, frame)) turn(t, local);
            for (const w of windower.push(frame)) emit(this.place(w, frameOffset, inputOffset));
          },
          end: () => {
            for (const t of this.turns.flush(frameOffset + local, this.vad.frames)) turn(t, local);
            for (const w of windower.end()) emit(this.place(w, frameOffset, inputOffset));
            // Speech still going on goes on as a new run in the next segment (as the turn cutter
            // counts it), so its windows are not taken for the tail of the run just closed.
            if (this.vad.speaking) this.onsets.push(this.vad.frames);
          },
        };
      }),
    );
  }

  private speechEvents(ts: SpeechTransition[]): void {
    for (const t of ts) {
      if (t.active) this.onsets.push(Math.round(t.atMs / FRAME_MS));
      else this.offsets.push(Math.round(t.atMs / FRAME_MS));
      this.turns.speech(t.active, t.atMs);
      this.opts.onSpeech?.(t);
    }
  }

  /** The input sample frame (from the stream's start) that completes segment frame `frames − 1`. */
  private inputFrameOf(frames: number, inputOffset: number): number {
    const last16k = Math.max(0, frames - 1) * FRAME_HOP + FRAME_LENGTH - 1;
    return inputOffset + Math.floor((last16k * this.opts.format.sampleRate) / SAMPLE_RATE);
  }

  private placeTurn(t: CutTurn, framesSeen: number, inputOffset: number): PlacedTurn {
    return {
      kind: 'turn',
      startMs: t.startFrame * FRAME_MS,
      endMs: t.endFrame * FRAME_MS,
      endsRun: t.endsRun,
      lastInputFrame: this.inputFrameOf(framesSeen, inputOffset),
      windows: t.windows,
    };
  }

  private place(w: FeatureWindow, frameOffset: number, inputOffset: number): PlacedWindow {
    const first = frameOffset + w.startFrame;
    const end = frameOffset + w.endFrame;
    const speech = this.vad.speechFraction(first, end);
    // The VAD runs ahead of the features: a run that began after this window's end is not its turn.
    let onset: number | undefined;
    for (const f of this.onsets) if (f < end) onset = f;
    const from = onset === undefined ? end : Math.max(first, onset);
    const turnSpeechMs = Math.round(this.vad.speechFraction(from, end) * (end - from)) * FRAME_MS;
    // The turn is over for this window if its run ended and the VAD's hangover after that end
    // lies inside the window: the VAD (ahead of the features) has then surely decided the end.
    const off = onset === undefined ? undefined : this.offsets.find((f) => f > onset);
    const turnOver = off !== undefined && off + this.vad.hangoverFrames <= end;
    // Onsets before this one cannot be any later window's turn.
    if (onset !== undefined) {
      this.onsets = this.onsets.filter((f) => f >= onset);
      this.offsets = this.offsets.filter((f) => f > onset);
    }
    // The window's last real frame ends at sample (endFrame − 1)·160 + 400 of the segment, at
    // 16 kHz; the same instant at the input rate, counted from the stream's start:
    const lastInputFrame = this.inputFrameOf(w.endFrame, inputOffset);
    this.vad.forget(first);
    const placed: PlacedWindow = {
      kind: 'window',
      seq: this.nextSeq++,
      startMs: first * FRAME_MS,
      endMs: end * FRAME_MS,
      speech,
      turnStartMs: onset === undefined ? undefined : onset * FRAME_MS,
      turnSpeechMs,
      turnOver,
      lastInputFrame,
      data: w.data,
    };
    if (w.early) placed.early = true;
    return placed;
  }
}
