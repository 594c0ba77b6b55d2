// The emotion event state machine: turns smoothed posteriors of speech / silence windows into
// start / change / end events. A new label must lead the current one by `margin` for at least
// `dwellMs` of stream time before a change, so the output does not flicker between close labels.
import type { EmotionKind } from '../protocol/messages.js';

export interface HysteresisOptions {
  margin: number;
  dwellMs: number;
}

export interface EmotionEvent {
  kind: EmotionKind;
  label: string;
  confidence: number;
  atMs: number;
  previous?: string;
}

/** The index of the largest entry (the first of equals). */
export function topIndex(p: ArrayLike<number>): number {
  let top = 0;
  for (let i = 1; i < p.length; i++) if (p[i] > p[top]) top = i;
  return top;
}

export class EmotionStateMachine {
  private current: string | undefined;
  private currentConfidence = 0;
  private candidate: string | undefined;
  private candidateSince = 0;

  constructor(
    private readonly labels: readonly string[],
    private readonly opts: HysteresisOptions,
  ) {}

  get label(): string | undefined {
    return this.current;
  }

  /** A window judged to be speech, with its smoothed posteriors. */
  speech(smoothed: ArrayLike<number>, atMs: number): EmotionEvent | undefined {
    const top = topIndex(smoothed);
    const topLabel = this.labels[top];
    if (this.current === undefined) {
      this.current = topLabel;
      this.currentConfidence = smoothed[top];
      this.candidate = undefined;
      return { kind: 'start', label: topLabel, confidence: smoothed[top], atMs };
    }
    const cur = this.labels.indexOf(this.current);
    // The confidence an `end` reports is the emotion's as it last stood on top, not what is
    // left of it while another label is overtaking it.
    if (top === cur) this.currentConfidence = smoothed[cur];
    if (top === cur || smoothed[top] - smoothed[cur] < this.opts.margin) {
      this.candidate = undefined;
      return undefined;
    }
    if (this.candidate !== topLabel) {
      this.candidate = topLabel;
      this.candidateSince = atMs;
    }
    if (atMs - this.candidateSince < this.opts.dwellMs) return undefined;
    const previous = this.current;
    this.current = topLabel;
    this.currentConfidence = smoothed[top];
    this.candidate = undefined;
    return { kind: 'change', label: topLabel, confidence: smoothed[top], atMs, previous };
  }

  /**
   * A speech turn's verdict (its windows scored as one utterance) becomes the state: it was
   * decided from the whole turn, so it outranks the windows' running vote, which a short turn
   * may end before it has settled. Emits start or change when the label differs.
   */
  verdict(probs: ArrayLike<number>, atMs: number): EmotionEvent | undefined {
    const top = topIndex(probs);
    const label = this.labels[top];
    this.candidate = undefined;
    const previous = this.current;
    this.current = label;
    this.currentConfidence = probs[top];
    if (previous === label) return undefined;
    return previous === undefined
      ? { kind: 'start', label, confidence: probs[top], atMs }
      : { kind: 'change', label, confidence: probs[top], atMs, previous };
  }

  /** A window judged to be silence: ends the current emotion, if any. */
  silence(atMs: number): EmotionEvent | undefined {
    this.candidate = undefined;
    if (this.current === undefined) return undefined;
    const ev: EmotionEvent = { kind: 'end', label: this.current, confidence: this.currentConfidence, atMs, previous: this.current };
    this.current = undefined;
    return ev;
  }
}
