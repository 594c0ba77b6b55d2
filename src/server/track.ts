// One track of a session: the audio a single front end hears (all channels mixed, or one
// channel when the session keeps channels apart) and everything decided from it: voice
// activity, windows and turns (the front end), smoothing and the emotion state machine.
import { StreamFrontEnd } from '../dsp/stream-front-end.js';
import type { EmotionMsg, SpeechMsg } from '../protocol/messages.js';
import { EmotionStateMachine, type EmotionEvent } from './hysteresis.js';
import type { SessionSettings } from './settings.js';
import { PosteriorSmoother } from './smoothing.js';

export class Track {
  readonly frontEnd: StreamFrontEnd;
  private readonly smoother: PosteriorSmoother;
  private readonly emotions: EmotionStateMachine;

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
    this.smoother = new PosteriorSmoother(settings.smoothing.timeConstantMs);
    this.emotions = new EmotionStateMachine(labels, settings.smoothing);
  }

  /** A computed window: smoothing and the state machine, if it holds enough speech to count. */
  window(probs: ArrayLike<number>, isSpeech: boolean, endMs: number): EmotionMsg | undefined {
    if (isSpeech) return this.event(this.emotions.speech(this.smoother.update(probs, endMs), endMs));
    this.smoother.reset();
    return this.event(this.emotions.silence(endMs));
  }

  /** The stream ended (or went silent): closes the emotion that stood, if any. */
  silence(atMs: number): EmotionMsg | undefined {
    return this.event(this.emotions.silence(atMs));
  }

  private event(ev: EmotionEvent | undefined): EmotionMsg | undefined {
    return ev && { type: 'emotion', ...ev, channel: this.channel };
  }
}
