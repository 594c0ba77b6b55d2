// Sending to one WebSocket without letting a slow reader grow our memory: above `softLimit`
// buffered bytes posteriors are shed (and the reader is told how many when it catches up);
// a reader that stays above it for `slowMs`, or goes above `hardLimit`, is closed with
// slow_consumer. Emotion, speech, error and end messages are never shed.
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
    private readonly hooks: { onShed?(): void; onSlow?(): void; onError?(code: string): void } = {},
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
      this.slow();
      return;
    }
    if (msg.type === 'posterior' && buffered > this.limits.softLimit) {
      this.shed++;
      this.unreported++;
      this.hooks.onShed?.();
      return;
    }
    // Report shed posteriors before the next one, or at the latest before `end`.
    if ((msg.type === 'posterior' || msg.type === 'end') && this.unreported > 0) {
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
    // A peer that never answers the close handshake must not keep the socket alive.
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }

  private write(msg: ServerMessage): void {
    if (msg.type === 'error') this.hooks.onError?.(msg.code);
    this.ws.send(this.codec.encode(msg));
  }

  private slow(): void {
    this.hooks.onSlow?.();
    this.closing = true;
    // Its buffer is full, so an error message would sit behind it: the close frame carries the
    // code, and a reader that is not reading at all is cut off a second later.
    try {
      this.ws.close(CLOSE_SLOW_CONSUMER, 'slow_consumer');
    } catch {
      /* already closing */
    }
    setTimeout(() => this.ws.terminate(), 1000).unref();
  }
}
