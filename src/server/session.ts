// One publishing session: its audio in, its messages out. The pipeline (pipeline()) reads top to
// bottom as the data flows; everything else here is the state the stages share: the audio decoder,
// the arrival clock, the front end (src/dsp/stream-front-end.ts: windows placed in stream time,
// voice activity), smoothing and the emotion state machine — one set of these per track
// (track.ts): the mixed channels, or each channel on its own with channelMode "separate".
//
// A `flush` closes a segment: the front end is run to its end (the final zero-padded window
// comes out) and a fresh one starts for the audio after it. Stream time and `seq` continue
// across segments.
import { concatMap, endWith, from, map, merge, mergeMap, Observable, of, Subject, window as splitAt, type Subscription } from 'rxjs';
import { internalFailure, UserError } from '../errors.js';
import { channelOf } from '../dsp/convert.js';
import type { PlacedTurn as FrontEndTurn, PlacedWindow as FrontEndWindow } from '../dsp/stream-front-end.js';
import { FRAME_MS, WINDOW_FRAMES } from '../dsp/types.js';
import { DEFAULT_TURNS } from '../dsp/turns.js';
import { utteranceWindows } from '../dsp/utterance.js';
import { meanPosterior } from '../inference/utterance.js';
import { sanitize } from '../ingest/pcm.js';
import { wireDecoder, type WireDecoder } from '../ingest/wire.js';
import type { AudioChunk } from '../ingest/types.js';
import { ArrivalClock } from './arrival.js';
import { topIndex } from './hysteresis.js';
import type { BatchOutcome, Batcher } from './batcher.js';
import type { EndMsg, ReadyMsg, ServerMessage } from '../protocol/messages.js';
import type { SessionSettings } from './settings.js';
import { Track } from './track.js';

export interface SessionContext {
  batcher: Batcher;
  model: string;
  backend: string;
  labels: readonly string[];
  /** Windows a session may have waiting for inference before its publisher is paused. */
  maxPendingWindows: number;
  onWindow?(latencyMs: number): void;
  onSkipped?(n: number): void;
  /** A failure that is not the user's: the detail for the server's log (the user gets the incident). */
  onInternalError?(err: unknown, incident: string): void;
}

/** A placed window on its way through the batcher. */
interface PlacedWindow {
  channel: number;
  seq: number;
  startMs: number;
  endMs: number;
  speech: number;
  turnStartMs: number | undefined;
  turnSpeechMs: number;
  turnOver: boolean;
  /** performance.now() when the window's last audio sample arrived. */
  arrivedAt: number;
  data: Float32Array | undefined;
}

/** A speech turn on its way through the batcher: its windows are scored as one utterance. */
interface PlacedTurn {
  channel: number;
  startMs: number;
  endMs: number;
  endsRun: boolean;
  arrivedAt: number;
  windows: Float32Array[];
}

/** Audio (decoded, interleaved) or a segment end, waiting to enter the front end. */
type Input = { samples: Float32Array } | { end: 'flush' | 'stop' };

/** Audio enters the front end in slices of at most this long, so one big message cannot place
 *  more than a slice's windows at once. */
const SLICE_MS = 100;
/** Most windows one speech turn can bring (a turn is cut at its maximum length; its context is scored with it). */
const TURN_WINDOWS = utteranceWindows(
  (DEFAULT_TURNS.maxMs + DEFAULT_TURNS.contextBeforeMs + DEFAULT_TURNS.contextAfterMs) / FRAME_MS,
).length;
/** Most windows a slice can place at once per track: an early window and a full one, and one turn ending. */
const SLICE_WINDOWS = 2 + TURN_WINDOWS;
/** …and a segment end: its final window(s) and the turns it closes (one ended, one still open). */
const END_WINDOWS = 2 + 2 * TURN_WINDOWS;

type Queued = { w: PlacedWindow; outcome: Promise<BatchOutcome> } | { t: PlacedTurn; outcome: Promise<BatchOutcome[]> };
type Computed = { w: PlacedWindow; o: BatchOutcome } | { t: PlacedTurn; o: BatchOutcome[] };

const FLUSHED = Symbol('flushed');
type Flushed = typeof FLUSHED;

let instances = 0;

export class Session {
  readonly id: string;
  /** Unique per Session object (a session id can be reused after its session ended). */
  readonly key: string;
  readonly ready: ReadyMsg;
  /** Every message of the session, for the publisher and all subscribers. Completes after `end`. */
  readonly messages$ = new Subject<ServerMessage>();
  /** Called with true when the publisher should stop sending, false when it may go on. */
  onPressure: (paused: boolean) => void = () => {};

  private readonly decoder: WireDecoder;
  /** Audio that arrived while the decoder was still being set up (Opus), replayed once it is. */
  private early: [Uint8Array, number][] | undefined;
  private readonly arrival = new ArrivalClock();
  private readonly tracks: Track[];
  private readonly chunks$ = new Subject<AudioChunk>();
  private readonly flush$ = new Subject<void>();
  private readonly flushWaiters: (() => void)[] = [];
  private readonly subscription: Subscription;
  private readonly finished: Promise<void>;
  /** Resolves `finished`: the pipeline completed, failed, or was torn down by abort(). */
  private finish: () => void = () => {};
  private pending = 0;
  private paused = false;
  /** Input that could not enter the front end yet: the session had its windows in flight. */
  private readonly backlog: Input[] = [];
  private draining = false;
  private stopping = false;
  /** While a segment end runs: when it was let in. Windows it completes waited for it, not for
   *  audio, so their latency starts there. */
  private segmentEndAt: number | undefined;
  private skippedRun = 0;
  private closed = false;
  /** Windows computed, skipped, and the most ever pending at once. */
  windows = 0;
  skipped = 0;
  maxPending = 0;

  constructor(
    readonly settings: SessionSettings,
    private readonly ctx: SessionContext,
  ) {
    this.id = settings.session;
    this.key = `${settings.session}#${++instances}`;
    this.decoder = wireDecoder(settings.format);
    if (this.decoder.ready) {
      this.early = [];
      this.decoder.ready.then(
        () => {
          const early = this.early ?? [];
          this.early = undefined;
          for (const [bytes, at] of early) this.audio(bytes, at);
        },
        (err) => this.fail(err),
      );
    }
    const trackCount = settings.channelMode === 'separate' ? settings.format.channels : 1;
    this.tracks = Array.from({ length: trackCount }, (_, c) => new Track(c, settings, ctx.labels, (m) => this.emit(m)));
    this.ready = {
      type: 'ready',
      session: this.id,
      model: ctx.model,
      labels: [...ctx.labels],
      windowMs: WINDOW_FRAMES * FRAME_MS,
      hopMs: settings.hopMs,
      backend: ctx.backend,
    };
    let done!: () => void;
    this.finished = new Promise<void>((r) => (done = r));
    this.finish = done;
    this.subscription = this.pipeline().subscribe({
      next: (m) => (m === FLUSHED ? this.flushWaiters.shift()?.() : this.emit(m)),
      error: (err) => {
        this.fail(err);
        done();
      },
      complete: done,
    });
  }

  /** The whole session, from PCM chunks to protocol messages. */
  private pipeline(): Observable<ServerMessage | Flushed> {
    return this.chunks$.pipe(
      splitAt(this.flush$), // a flush ends a segment, so its last partial window comes out
      mergeMap((segment$) => this.segment(segment$)), // the front end, per segment
      map((w) => (w === FLUSHED ? w : 't' in w ? this.enqueueTurn(w.t) : this.enqueue(w.w))), // into the shared batcher now…
      concatMap((q) => (q === FLUSHED ? of(q) : from(this.computed(q)))), // …results in stream order
      concatMap((r) => (r === FLUSHED ? of(r) : from('t' in r ? this.utterance(r.t, r.o) : this.results(r.w, r.o)))), // posterior, smoothing, events; turns
    );
  }

  /** One segment of audio → windows placed in session stream time, then a FLUSHED mark. Each
   *  chunk reaches every track's front end in turn (synchronously), so items stay in stream order. */
  private segment(segment$: Observable<AudioChunk>): Observable<{ w: PlacedWindow } | { t: PlacedTurn } | Flushed> {
    const separate = this.tracks.length > 1;
    return merge(
      ...this.tracks.map((track) =>
        track.frontEnd
          .segment(separate ? segment$.pipe(map((c) => channelOf(c, track.channel))) : segment$)
          .pipe(
            map((item) => (item.kind === 'turn' ? { t: this.arrivedTurn(item, track.channel) } : { w: this.arrived(item, track.channel) })),
          ),
      ),
    ).pipe(endWith(FLUSHED as Flushed));
  }

  /** Bytes of audio from the publisher, received at `arrivedAt` (performance.now()). */
  audio(bytes: Uint8Array, arrivedAt: number): void {
    if (this.closed || this.stopping) return;
    if (this.early) {
      this.early.push([bytes, arrivedAt]);
      return;
    }
    let samples: Float32Array;
    try {
      samples = this.decoder.push(bytes);
    } catch (err) {
      // A bad Opus packet is dropped and reported; the stream goes on.
      if (!(err instanceof UserError)) throw err;
      this.emit({ type: 'error', code: err.code, message: err.message, fatal: false });
      return;
    }
    if (samples.length === 0) return;
    const bad = sanitize(samples);
    if (bad > 0) {
      this.emit({
        type: 'error',
        code: 'non_finite_samples',
        message: `${bad} NaN or infinite sample(s) in an audio frame were replaced by 0`,
        fatal: false,
      });
    }
    this.arrival.record(samples.length / this.settings.format.channels, arrivedAt);
    this.backlog.push({ samples });
    this.drain();
  }

  /** Processes everything received so far, including the last partial window. */
  flush(): Promise<void> {
    if (this.closed || this.stopping) return Promise.resolve();
    if (this.early) return this.decoder.ready!.then(() => this.flush()); // after the early audio
    this.checkWholeSamples();
    const done = new Promise<void>((r) => this.flushWaiters.push(r));
    this.backlog.push({ end: 'flush' });
    this.drain();
    return done;
  }

  /** Flush, emit `end`, complete messages$. */
  async stop(): Promise<EndMsg> {
    if (this.early) await this.decoder.ready!.catch(() => {});
    if (!this.closed) {
      if (!this.stopping) {
        this.stopping = true;
        this.checkWholeSamples();
        this.backlog.push({ end: 'stop' });
        this.drain();
      }
      await this.finished;
    }
    return this.end();
  }

  /** The publisher is gone: drop queued work, tell subscribers, free everything now. */
  abort(reason: { code: string; message: string }): void {
    if (this.closed) return;
    this.closed = true;
    this.backlog.length = 0;
    this.subscription.unsubscribe();
    this.pending -= this.ctx.batcher.cancel(this.key);
    this.emit({ type: 'error', code: reason.code, message: reason.message, fatal: false });
    this.end();
    // The pipeline will never complete now: a stop() waiting on it must not wait forever.
    this.finish();
  }

  /**
   * Lets input into the front end while the session has room for the windows it may place:
   * at most maxPendingWindows wait for inference (or, when that is smaller than what one slice
   * can place, one slice's worth). What cannot go in waits here, and the publisher is paused.
   */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      const cap = this.ctx.maxPendingWindows;
      const tracks = this.tracks.length;
      const fits = (n: number) => this.pending === 0 || this.pending + n * tracks <= cap;
      while (this.backlog.length > 0 && !this.closed) {
        const item = this.backlog[0];
        if ('end' in item) {
          if (!fits(END_WINDOWS)) break;
          this.backlog.shift();
          this.segmentEndAt = performance.now();
          if (item.end === 'flush') this.flush$.next();
          else this.chunks$.complete();
          this.segmentEndAt = undefined;
          continue;
        }
        if (!fits(SLICE_WINDOWS)) break;
        const { sampleRate, channels } = this.settings.format;
        const slice = Math.max(1, Math.round((sampleRate * SLICE_MS) / 1000)) * channels;
        const samples = item.samples.length <= slice ? item.samples : item.samples.subarray(0, slice);
        if (samples === item.samples) this.backlog.shift();
        else item.samples = item.samples.subarray(slice);
        this.chunks$.next({ format: { sampleRate, channels }, samples });
      }
    } finally {
      this.draining = false;
    }
    const paused = this.backlog.length > 0 && !this.closed;
    if (paused !== this.paused) {
      this.paused = paused;
      this.onPressure(paused);
    }
  }

  get audioMs(): number {
    return (this.arrival.frames / this.settings.format.sampleRate) * 1000;
  }

  private end(): EndMsg {
    const audioMs = Math.round(this.audioMs * 1000) / 1000;
    const msg: EndMsg = { type: 'end', windows: this.windows, audioMs, skipped: this.skipped };
    if (!this.messages$.closed && !this.messages$.isStopped) {
      // Close what is open, so a subscriber's state ends clean: speech stops, the emotion ends.
      for (const t of this.tracks) {
        if (t.frontEnd.speaking) this.emit({ type: 'speech', active: false, atMs: audioMs, channel: t.channel });
        const ev = t.silence(audioMs);
        if (ev) this.emit(ev);
      }
      this.emit(msg);
      this.messages$.complete();
    }
    this.closed = true;
    this.decoder.free();
    this.flushWaiters.splice(0).forEach((r) => r());
    return msg;
  }

  private checkWholeSamples(): void {
    try {
      this.decoder.end();
    } catch (err) {
      const e = err as UserError;
      this.emit({
        type: 'error',
        code: e.code ?? 'pcm_partial_sample',
        message: `${e.message}; the partial sample was dropped`,
        fatal: false,
      });
    }
  }

  private fail(err: unknown): void {
    let code = 'internal_error';
    let message: string;
    if (err instanceof UserError) [code, message] = [err.code, err.message];
    else {
      const failure = internalFailure('the session failed');
      this.ctx.onInternalError?.(err, failure.incident);
      message = failure.message;
    }
    this.emit({ type: 'error', code, message, fatal: true });
    this.closed = true;
    this.backlog.length = 0;
    this.pending -= this.ctx.batcher.cancel(this.key);
    this.end();
  }

  private emit(m: ServerMessage): void {
    this.messages$.next(m);
  }

  /** When the input that completes `lastInputFrame` arrived, or the segment end it waited for. */
  private arrivalOf(lastInputFrame: number): number {
    const at = this.arrival.arrivalOf(lastInputFrame) ?? performance.now();
    return this.segmentEndAt !== undefined ? Math.max(at, this.segmentEndAt) : at;
  }

  private arrived(w: FrontEndWindow, channel: number): PlacedWindow {
    const arrivedAt = this.arrivalOf(w.lastInputFrame);
    const { seq, startMs, endMs, speech, turnStartMs, turnSpeechMs, turnOver, data } = w;
    return { channel, seq, startMs, endMs, speech, turnStartMs, turnSpeechMs, turnOver, arrivedAt, data };
  }

  private arrivedTurn(t: FrontEndTurn, channel: number): PlacedTurn {
    const arrivedAt = this.arrivalOf(t.lastInputFrame);
    return { channel, startMs: t.startMs, endMs: t.endMs, endsRun: t.endsRun, arrivedAt, windows: t.windows };
  }

  private computed(q: Queued): Promise<Computed> {
    return 't' in q ? q.outcome.then((o) => ({ t: q.t, o })) : q.outcome.then((o) => ({ w: q.w, o }));
  }

  /** A turn's windows go to the batcher like any window (and count as pending). */
  private enqueueTurn(t: PlacedTurn): Queued {
    const outcome = Promise.all(t.windows.map((data) => this.ctx.batcher.submit(this.key, data, t.arrivedAt, { keep: true })));
    this.addPending(t.windows.length);
    t.windows = [];
    return { t, outcome };
  }

  /** The `utterance` message of a turn (the mean of its computed windows' posteriors), and the state it sets. */
  private utterance(t: PlacedTurn, outcomes: BatchOutcome[]): ServerMessage[] {
    this.pending -= outcomes.length;
    this.releasePressure();
    const probs = outcomes.flatMap((o) => (o.kind === 'done' ? [o.probs] : []));
    if (outcomes.some((o) => o.kind === 'skipped')) {
      // No capacity (a remote engine's workers did not answer): say so, never drop the turn silently.
      const message = `the speech turn ${Math.round(t.startMs)}-${Math.round(t.endMs)} ms could not be scored: no inference capacity`;
      return [{ type: 'error', code: 'overloaded', message, fatal: false }];
    }
    if (probs.length === 0) return []; // cancelled: the session is gone
    const k = this.ctx.labels.length;
    const mean = meanPosterior(probs, k);
    const best = topIndex(mean);
    const byLabel: Record<string, number> = {};
    this.ctx.labels.forEach((l, c) => (byLabel[l] = mean[c]));
    const out: ServerMessage[] = [
      {
        type: 'utterance',
        startMs: t.startMs,
        endMs: t.endMs,
        label: this.ctx.labels[best],
        confidence: mean[best],
        probs: byLabel,
        channel: t.channel,
        windows: probs.length,
        latencyMs: performance.now() - t.arrivedAt,
      },
    ];
    const ev = this.tracks[t.channel].turn(mean, t);
    if (ev) out.push(ev);
    return out;
  }

  /** Windows handed to the batcher (drain() keeps them within maxPendingWindows). */
  private addPending(n: number): void {
    this.pending += n;
    if (this.pending > this.maxPending) this.maxPending = this.pending;
  }

  /** A result is in: there may be room for waiting input. */
  private releasePressure(): void {
    // Not from inside the pipeline's own emission: the input goes in once this result is out.
    if (this.backlog.length > 0) queueMicrotask(() => this.drain());
  }

  private enqueue(w: PlacedWindow): Queued {
    const outcome = this.ctx.batcher.submit(this.key, w.data!, w.arrivedAt);
    w.data = undefined; // the batcher holds it until computed
    this.addPending(1);
    return { w, outcome };
  }

  private results(w: PlacedWindow, o: BatchOutcome): ServerMessage[] {
    this.pending--;
    this.releasePressure();
    if (o.kind === 'cancelled') return [];
    if (o.kind === 'skipped') {
      this.skippedRun++;
      this.skipped++;
      this.ctx.onSkipped?.(1);
      return [];
    }
    const out: ServerMessage[] = [];
    if (this.skippedRun > 0) {
      out.push({
        type: 'error',
        code: 'overloaded',
        message: `server overloaded: skipped ${this.skippedRun} stale window(s) before window ${w.seq}`,
        fatal: false,
        skipped: this.skippedRun,
      });
      this.skippedRun = 0;
    }
    this.windows++;
    const probs: Record<string, number> = {};
    this.ctx.labels.forEach((l, i) => (probs[l] = o.probs[i]));
    const latencyMs = performance.now() - w.arrivedAt;
    this.ctx.onWindow?.(latencyMs);
    out.push({
      type: 'posterior',
      seq: w.seq,
      startMs: w.startMs,
      endMs: w.endMs,
      probs,
      speech: w.speech,
      computeMs: o.computeMs,
      latencyMs,
      batchSize: o.batchSize,
      channel: w.channel,
    });
    const ev = this.tracks[w.channel].window(o.probs, w);
    if (ev) out.push(ev);
    return out;
  }
}
