// Sending to one WebSocket without letting a slow reader grow our memory: above `softLimit`
// buffered bytes posteriors are shed (and the reader is told how many when it catches up);
// a reader that stays above it for `slowMs`, or goes above `hardLimit`, is closed with
// slow_consumer. Emotion, speech, error and end messages are never shed.
//
// Whatever is queued when a connection is closed (by us) is still delivered: a reader that
// paused gets its data, the shed count, the coded error and the close code when it reads
// again. Nothing new is queued after the close, so memory stays bounded; a peer that has
// neither read that nor answered the close within CLOSE_GRACE_MS is cut off.
import type { WebSocket } from 'ws';
import type { Codec } from '../protocol/codec.js';
import type { ClientMessage, ServerMessage } from '../protocol/messages.js';

export interface OutboxLimits {
  softLimit: number;
  hardLimit: number;
  /** Longest a reader may stay above softLimit, ms. */
  slowMs: number;
}

export const CLOSE_SLOW_CONSUMER = 4008;
/** How long a connection we closed may take to read what was queued and answer the close, ms. */
export const CLOSE_GRACE_MS = 10000;

export class Outbox {
  shed = 0;
  private unreported = 0;
  private closing = false;
  /** When the buffer last went above softLimit (undefined while below). */
  private overSince: number | undefined;
  /** Whether this reader wants posterior messages at all. */
  posteriors = true;

  constructor(
    private readonly ws: WebSocket,
    readonly codec: Codec<ServerMessage, ClientMessage>,
    private readonly limits: OutboxLimits,
    private readonly hooks: { onShed?(): void; onSlow?(): void; onError?(code: string): void; onFound?(): void } = {},
  ) {}

  get open(): boolean {
    return this.ws.readyState === this.ws.OPEN && !this.closing;
  }

  send(msg: ServerMessage): void {
    if (!this.open) return;
    if (msg.type === 'posterior' && !this.posteriors) return;
    const buffered = this.ws.bufferedAmount;
    if (buffered <= this.limits.softLimit) this.overSince = undefined;
    else this.overSince ??= performance.now();
    if (buffered > this.limits.hardLimit || (this.overSince !== undefined && performance.now() - this.overSince > this.limits.slowMs)) {
      this.slow(msg);
      return;
    }
    if (msg.type === 'posterior' && buffered > this.limits.softLimit) {
      this.shed++;
      this.unreported++;
      this.hooks.onShed?.();
      return;
    }
    // Report shed posteriors before the next one, or at the latest before `end`.
    if (msg.type === 'posterior' || msg.type === 'end') this.reportShed();
    this.write(msg);
  }

  /** Sends a fatal error and closes (policy-violation close code unless given). */
  fatal(code: string, message: string, closeCode = 1008): void {
    if (!this.open) return;
    this.write({ type: 'error', code, message, fatal: true });
    this.close(closeCode, code);
  }

  close(code = 1000, reason = ''): void {
    if (this.closing) return;
    this.closing = true;
    try {
      this.ws.close(code, reason);
    } catch {
      this.ws.terminate();
      return;
    }
    setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  private write(msg: ServerMessage): void {
    if (msg.type === 'error') this.hooks.onError?.(msg.code);
    // A subscriber's session exists: it was let in (ready), or it is full (not a guessed id either).
    if (msg.type === 'ready' || (msg.type === 'error' && msg.code === 'too_many_subscribers')) this.hooks.onFound?.();
    this.ws.send(this.codec.encode(msg));
  }

  private reportShed(): void {
    if (this.unreported === 0) return;
    const n = this.unreported;
    this.unreported = 0;
    this.write({
      type: 'error',
      code: 'posteriors_shed',
      message: `this connection reads too slowly: ${n} posterior message(s) were not sent`,
      fatal: false,
      skipped: n,
    });
  }

  /**
   * Closes a reader that cannot keep up. Behind what it has not read yet go the shed count, the
   * message that found it too slow (unless a posterior: an `end` is still delivered), the coded
   * error and close 4008: a few small messages, and nothing after them.
   */
  private slow(msg: ServerMessage): void {
    this.hooks.onSlow?.();
    if (msg.type === 'posterior') {
      this.shed++;
      this.unreported++;
      this.hooks.onShed?.();
    }
    this.reportShed();
    if (msg.type !== 'posterior') this.write(msg);
    this.write({
      type: 'error',
      code: 'slow_consumer',
      message: `this connection read too slowly: over ${this.limits.softLimit} unsent bytes for ${this.limits.slowMs} ms, or over ${this.limits.hardLimit}`,
      fatal: true,
    });
    this.close(CLOSE_SLOW_CONSUMER, 'slow_consumer');
  }
}
