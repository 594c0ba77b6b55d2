// One track of a session: the audio a single front end hears (all channels mixed, or one
// channel when the session keeps channels apart) and everything decided from it: voice
// activity, windows and turns (the front end), smoothing and the emotion state machine.
import { StreamFrontEnd } from '../dsp/stream-front-end.js';
import { DEFAULT_TURNS } from '../dsp/turns.js';
import type { EmotionMsg, SpeechMsg } from '../protocol/messages.js';
import { EmotionStateMachine, type EmotionEvent } from './hysteresis.js';
import type { SessionSettings } from './settings.js';
import { SpeechVoter } from './smoothing.js';

/** What the decisions need to know of a computed window. */
export interface WindowSpeech {
  endMs: number;
  /** Fraction of the window's frames that are speech: below smoothing.minSpeech it is silence. */
  speech: number;
  /** The turn the window's end falls in, and that turn's speech inside the window (ms). */
  turnStartMs: number | undefined;
  turnSpeechMs: number;
  /** The turn's speech ended inside the window (a short turn may then decide with less speech). */
  turnOver?: boolean;
}

/** What the decisions need to know of a scored speech turn. */
export interface TurnSpan {
  startMs: number;
  endMs: number;
  /** The run of speech ended with it (false: cut at the maximum turn length, the run goes on). */
  endsRun: boolean;
}

export class Track {
  readonly frontEnd: StreamFrontEnd;
  private readonly voter: SpeechVoter;
  private turnStartMs: number | undefined;
  private readonly emotions: EmotionStateMachine;
  private readonly minSpeech: number;
  private lastAtMs = 0;
  /** Where silence last ended an emotion (an `end` event). */
  private lastEndMs = -Infinity;
  /** Windows of a run of speech that began at or before this have had the run's verdict. */
  private decidedRunsUpToMs = -Infinity;

  constructor(
    readonly channel: number,
    settings: SessionSettings,
    labels: readonly string[],
    onSpeech: (msg: SpeechMsg) => void,
  ) {
    const { sampleRate, channels } = settings.format;
    this.frontEnd = new StreamFrontEnd({
      format: { sampleRate, channels: settings.channelMode === 'separate' ? 1 : channels },
      hopMs: settings.hopMs,
      minWindowMs: settings.minWindowMs,
      vad: { thresholdDb: settings.smoothing.vadThresholdDb, minDbfs: settings.smoothing.vadMinDbfs },
      onSpeech: (t) => onSpeech({ type: 'speech', active: t.active, atMs: t.atMs, channel }),
    });
    this.voter = new SpeechVoter({
      timeConstantMs: settings.smoothing.timeConstantMs,
      minSpeechMs: settings.smoothing.firstEventSpeechMs,
      // A turn too short to reach firstEventSpeechMs (a one-word answer) still decides once it is
      // over, if it was long enough to be a turn at all (the turn cutter's minimum).
      minTurnSpeechMs: Math.min(DEFAULT_TURNS.minMs, settings.smoothing.firstEventSpeechMs),
    });
    this.minSpeech = settings.smoothing.minSpeech;
    this.emotions = new EmotionStateMachine(labels, settings.smoothing);
  }

  /**
   * A computed window. Silence (speech fraction under minSpeech) ends the emotion and does not
   * vote; otherwise the window votes with the speech of its turn it holds, and votes restart
   * with each turn. The state machine hears the result once the turn has had enough speech, or
   * once a shorter turn is over, until the turn's verdict (turn()) decides it.
   */
  window(probs: ArrayLike<number>, w: WindowSpeech): EmotionMsg | undefined {
    if (w.speech < this.minSpeech) {
      this.voter.reset();
      this.turnStartMs = undefined;
      return this.event(this.emotions.silence(w.endMs));
    }
    if (w.turnStartMs !== this.turnStartMs) {
      this.turnStartMs = w.turnStartMs;
      this.voter.reset();
    }
    // A run of speech that ended and has its verdict is decided: the tail of its windows (they
    // still hold its speech) does not vote the state back to what the windows said.
    if (w.turnStartMs !== undefined && w.turnStartMs <= this.decidedRunsUpToMs) return undefined;
    const voted = this.voter.vote(probs, w.turnSpeechMs, w.endMs, w.turnOver ?? false);
    return voted && this.event(this.emotions.speech(voted, w.endMs));
  }

  /**
   * A speech turn ended and was scored as one utterance: the state takes its verdict (stamped no
   * earlier than the last event, so events stay in stream order).
   */
  turn(probs: ArrayLike<number>, t: TurnSpan): EmotionMsg | undefined {
    // A turn cut from a run that goes on (a monologue) sets the state, but the run's windows
    // still vote; its last turn (startMs at or after the run's onset) closes the run.
    if (t.endsRun) this.decidedRunsUpToMs = t.startMs;
    // Silence after the turn has already ended its emotion: starting it again now would only
    // blink on until the next silent window.
    if (this.lastEndMs >= t.endMs) return undefined;
    return this.event(this.emotions.verdict(probs, Math.max(t.endMs, this.lastAtMs)));
  }

  /** The stream ended (or went silent): closes the emotion that stood, if any. */
  silence(atMs: number): EmotionMsg | undefined {
    return this.event(this.emotions.silence(atMs));
  }

  private event(ev: EmotionEvent | undefined): EmotionMsg | undefined {
    if (!ev) return undefined;
    this.lastAtMs = ev.atMs;
    if (ev.kind === 'end') this.lastEndMs = ev.atMs;
    return { type: 'emotion', ...ev, channel: this.channel };
  }
}
