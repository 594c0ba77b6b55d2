// A per-address budget (token bucket) for subscriptions that find no session: a client may miss
// a few times (a typo, a session that just ended), but guessing session ids is slowed to a trickle.

export class MissThrottle {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    /** Attempts an address may make at once. */
    readonly burst: number,
    /** Attempts regained per second. */
    readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes one attempt for `key`; false when it has none left. */
  take(key: string): boolean {
    const level = this.level(key);
    if (level < 1) return false;
    this.set(key, level - 1);
    return true;
  }

  /** Gives an attempt back (it found its session). */
  refund(key: string): void {
    this.set(key, Math.min(this.burst, this.level(key) + 1));
  }

  /** Whole seconds until `key` has an attempt again. */
  retryAfter(key: string): number {
    return Math.max(1, Math.ceil((1 - this.level(key)) / this.perSecond));
  }

  private level(key: string): number {
    const b = this.buckets.get(key);
    if (!b) return this.burst;
    return Math.min(this.burst, b.tokens + ((this.now() - b.at) / 1000) * this.perSecond);
  }

  private set(key: string, tokens: number): void {
    if (tokens >= this.burst) this.buckets.delete(key);
    else this.buckets.set(key, { tokens, at: this.now() });
    if (this.buckets.size > 10000) for (const k of this.buckets.keys()) if (this.level(k) >= this.burst) this.buckets.delete(k);
  }
}
