// A session's bounded past for late subscribers: its turns and events (capped by count and age),
// with the latest posterior of each track kept in its place among them. Replaying it, then the live messages,
// gives a late subscriber the same sequence as an early one, minus what the caps dropped.
import type { ServerMessage } from '../protocol/messages.js';
import type { HistoryLimits } from '../bus/types.js';

export const DEFAULT_HISTORY: HistoryLimits = { count: 200, ageMs: 10 * 60_000 };

interface Kept {
  m: ServerMessage;
  at: number;
}

export class SessionHistory {
  private readonly events: Kept[] = [];
  /** Events ever pushed before events[0] (dropped by the count cap). */
  private dropped = 0;
  /** The latest posterior of each track (channel) and how many events came before it. */
  private readonly posteriors = new Map<number, { kept: Kept; after: number }>();

  constructor(
    private readonly limits: HistoryLimits = DEFAULT_HISTORY,
    private readonly now: () => number = Date.now,
  ) {}

  push(m: ServerMessage): void {
    if (m.type === 'pong' || m.type === 'ready' || m.type === 'end') return;
    const kept = { m, at: this.now() };
    if (m.type === 'posterior') {
      this.posteriors.delete(m.channel); // re-inserted last: the map stays in session order
      this.posteriors.set(m.channel, { kept, after: this.dropped + this.events.length });
      return;
    }
    this.events.push(kept);
    if (this.events.length > this.limits.count) {
      this.events.shift();
      this.dropped++;
    }
  }

  /** The history in session order, without what is older than the age cap (the latest posteriors always). */
  replay(): ServerMessage[] {
    const oldest = this.now() - this.limits.ageMs;
    const out: ServerMessage[] = [];
    const ps = [...this.posteriors.values()]; // ascending `after`
    let k = 0;
    this.events.forEach((e, i) => {
      while (k < ps.length && ps[k].after <= this.dropped + i) out.push(ps[k++].kept.m);
      if (e.at >= oldest) out.push(e.m);
    });
    while (k < ps.length) out.push(ps[k++].kept.m);
    return out;
  }
}
