// The contract between the server and a message bus that lets several server nodes share one
// session space. The server imports only these types, so a node without a bus never loads a bus
// client; the Redis implementation (redis.ts) is loaded by `emostream serve --bus` alone.
import type { ReadyMsg, ServerMessage } from '../protocol/messages.js';

/** A live session as the registry knows it. */
export interface SessionRecord {
  session: string;
  /** The node publishing it (--node-id). */
  node: string;
  /** When it started, ms since the epoch (the publishing node's clock). */
  startedAt: number;
  ready: ReadyMsg;
}

/** How much of a session's past a late subscriber is sent before the live messages. */
export interface HistoryLimits {
  /** Most messages (turns, events; plus the latest posterior). */
  count: number;
  /** Oldest message, ms before now. */
  ageMs: number;
}

/** Where a followed session's messages go. Calls arrive in the session's order. */
export interface FeedSink {
  /** The next message: `ready` first, then history, then live; `end` last. */
  message(m: ServerMessage): void;
  /** The feed is over (after `end`, or after a fatal error the bus sent through message()). */
  done(): void;
}

export type SeatResult =
  | { status: 'taken'; /** Gives the seat back (the subscriber left). Idempotent. */ release(): void }
  | { status: 'full'; /** The session's cap. */ cap: number }
  | { status: 'unknown' };

export interface Feed {
  /** Stops following (the subscriber left). Idempotent. */
  close(): void;
}

export interface FollowOptions {
  /** Wait this long for a session that has not started (0: fail at once with unknown_session). */
  waitMs: number;
  history: HistoryLimits;
}

/** Counters a node exports about its bus. */
export interface BusStats {
  connected: boolean;
  /** Messages handed to the bus. */
  published: number;
  /** Messages this node read from the bus for its followers (once per read, however many subscribers here take it). */
  received: number;
  /** Times a connection to the bus was re-established after being lost. */
  reconnects: number;
  /** Messages this node could not hand to the bus (unreachable, timed out, over the in-flight cap). */
  lost: number;
  /** Commands sent and not yet answered (bounded by the in-flight cap). */
  inflight: number;
  /** Sessions of other nodes followed for subscribers here. */
  following: number;
  /** Subscriber seats this node holds (its subscribers of sessions on any node, counted by every node). */
  seats: number;
  /** Messages subscribers here were told they missed (gaps seen in a session's numbering). */
  gapsReported: number;
}

export interface SessionBus {
  readonly node: string;
  /**
   * Registers a session started on this node and writes its `ready` as its first message.
   * Resolves false if another node publishes a session of that id. `maxSubscribers` is the
   * session's subscriber cap, counted across every node (default: none).
   */
  claim(ready: ReadyMsg, opts?: { maxSubscribers?: number }): Promise<boolean>;
  /**
   * Takes one of a live session's subscriber seats, counted across every node against the cap its
   * publishing node set (`follow` takes one itself). Rejects with bus_unavailable when the bus
   * does not answer; resolves `unknown` when the session is not in the registry.
   */
  seat(session: string): Promise<SeatResult>;
  /** Fans one message of a claimed session out to every node, in call order. Never throws. */
  publish(session: string, m: ServerMessage): void;
  /** The session ended (its `end` was published): drops it from the registry. */
  release(session: string): void;
  /** Live sessions of every node. */
  list(): Promise<SessionRecord[]>;
  /**
   * Follows a session of any node: `ready`, a bounded history, then every live message until `end`.
   * The follower takes a subscriber seat first (when the session starts, for one that waits); a
   * full session, a session that never starts (within waitMs), a publisher whose node died, or
   * messages lost on the way are reported to the sink as coded errors.
   */
  follow(session: string, opts: FollowOptions, sink: FeedSink): Feed;
  stats(): BusStats;
  /** Releases every session of this node and disconnects. */
  close(): Promise<void>;
}
