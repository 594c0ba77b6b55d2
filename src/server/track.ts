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

export class Track {
  readonly frontEnd: StreamFrontEnd;
  private readonly voter: SpeechVoter;
  private turnStartMs: number | undefined;
  private readonly emotions: EmotionStateMachine;
  private readonly minSpeech: number;

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
   * once a shorter turn is over.
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
    const voted = this.voter.vote(probs, w.turnSpeechMs, w.endMs, w.turnOver ?? false);
    return voted && this.event(this.emotions.speech(voted, w.endMs));
  }

  /** The stream ended (or went silent): closes the emotion that stood, if any. */
  silence(atMs: number): EmotionMsg | undefined {
    return this.event(this.emotions.silence(atMs));
  }

  private event(ev: EmotionEvent | undefined): EmotionMsg | undefined {
    return ev && { type: 'emotion', ...ev, channel: this.channel };
  }
}
