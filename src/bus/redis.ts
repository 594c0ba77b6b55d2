// The session space on Redis (docs/deploy.md says why Redis). Per session:
//   es:reg:<id>  the registry record, with a TTL its node keeps refreshing (a dead node's lapse);
//   es:all:<id>  a Stream of every message, capped: the ordered fan-out to other nodes;
//   es:ev:<id>   a Stream of its turns and events only, capped by count: the history;
//   es:lp:<id>   a hash: the latest posterior of each track with its stream id, so history keeps it in place;
//   es:sub:<id>  a sorted set of its subscribers' seats on every node (score: when the seat lapses unless
//                its node refreshes it), counted against the cap in the record: one cap for the cluster.
// Each message carries its number in the session (`n`), so a reader sees any gap — a write lost
// while Redis was unreachable, a restart, a reader that fell behind the cap — and reports it.
// Writes go out without waiting (ioredis pipelines them in order) but never more than
// maxInflight at once, and nothing queues while disconnected: memory stays bounded when the bus
// is unreachable, and what could not be sent is counted instead.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { UserError } from '../errors.js';
import type { ReadyMsg, ServerMessage } from '../protocol/messages.js';
import type { BusStats, Feed, FeedSink, FollowOptions, SeatResult, SessionBus, SessionRecord } from './types.js';

export interface RedisBusOptions {
  url: string;
  /** This node's name in the registry (default: host-pid). */
  node?: string;
  /** A node that stops refreshing its sessions loses them after this long, ms. */
  ttlMs?: number;
  /** Most history messages kept per session (the es:ev stream's length). */
  historyCount?: number;
  /** Messages kept per session for the fan-out (approximate cap of es:all); a reader further behind loses (and is told). */
  streamMax?: number;
  /** Most writes awaiting Redis's answer; beyond it messages are dropped and counted. */
  maxInflight?: number;
  /** How long a session's streams outlive it (for readers still catching up), ms. */
  keepMs?: number;
  /** How long the first connection may take before `connect` fails, ms. */
  connectTimeoutMs?: number;
}

const DEFAULTS = { ttlMs: 5000, historyCount: 200, streamMax: 1000, maxInflight: 10000, keepMs: 60_000, connectTimeoutMs: 5000 };

/** How long the reader blocks on XREAD; also the longest a new follower waits for the reader to notice it. */
const BLOCK_MS = 1000;

const CLAIM = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('DEL', KEYS[3], KEYS[4])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'n', '0', 'k', 'r', 'o', ARGV[6], 'm', ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return 1`;

const PUBLISH = `
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'n', ARGV[1], 'k', ARGV[2], 'm', ARGV[3])
if ARGV[2] == 'e' then
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[5], id, 'n', ARGV[1], 'm', ARGV[3])
elseif ARGV[2] == 'p' then
  redis.call('HSET', KEYS[3], ARGV[6], id .. '\\n' .. ARGV[3])
end
return 1`;

/** Refreshes a session's record (re-creating it after a bus restart) unless another node owns the id now. */
const BEAT = `
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
for i = 2, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
return 1`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
for i = 2, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
return 1`;

/** A late subscriber's starting point, atomically: record, last entry, history, latest posterior. */
const SNAPSHOT = `
local rec = redis.call('GET', KEYS[1])
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if not rec then return {false, last} end
local t = redis.call('TIME')
local oldest = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[1])
if oldest < 0 then oldest = 0 end
local evs = redis.call('XREVRANGE', KEYS[3], '+', string.format('%d', oldest), 'COUNT', ARGV[2])
return {rec, last, evs, redis.call('HVALS', KEYS[4])}`;

/**
 * A subscriber seat: -1 if the session is not in the registry; else {1, cap} taken or {0, cap}
 * refused because live seats (lapsed ones dropped first) already fill the publisher's cap.
 */
const SEAT = `
local rec = redis.call('GET', KEYS[1])
if not rec then return -1 end
local ok, r = pcall(cjson.decode, rec)
local cap = -1
if ok and type(r.maxSubscribers) == 'number' then cap = r.maxSubscribers end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if cap >= 0 and redis.call('ZCARD', KEYS[2]) >= cap then return {0, cap} end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[2], 2 * tonumber(ARGV[2]))
return {1, cap}`;

/** Keeps a seat alive (re-creating it after a bus restart). */
const SEAT_BEAT = `
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[2]))
return 1`;

/** 1: the record is still this owner's; 2: gone, but the session's `end` is in its stream; 0: gone. */
const ALIVE = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, rec = pcall(cjson.decode, cur)
  if ok and rec.owner == ARGV[1] then return 1 end
end
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if last[1] then
  local f = last[1][2]
  for i = 1, #f, 2 do if f[i] == 'k' and f[i + 1] == 'x' then return 2 end end
end
return 0`;

type Entry = [id: string, fields: string[]];
type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

interface Stored extends SessionRecord {
  owner: string;
  /** Subscribers the session may have on all nodes together (absent: no cap). */
  maxSubscribers?: number;
}

interface Local {
  record: string;
  n: number;
}

interface Follower {
  session: string;
  key: string;
  sink: FeedSink;
  /** Last stream id delivered; entries up to it are skipped. */
  cursor: string;
  /** Number of the last message delivered; -1 while waiting for the session to start. */
  lastN: number;
  owner: string | undefined;
  timer: NodeJS.Timeout | undefined;
  closed: boolean;
  /** Its subscriber seat (a member of es:sub:<id>), once taken. */
  seat: string | undefined;
  /** Messages read while its seat is being taken (a waiter whose session just started): delivered once it has one. */
  held: ServerMessage[] | undefined;
}

const keys = (id: string) => [`es:reg:${id}`, `es:all:${id}`, `es:ev:${id}`, `es:lp:${id}`];

function field(fields: string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** Orders stream ids ("ms-seq"). */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-');
  const [bm, bs] = b.split('-');
  return Number(am) - Number(bm) || Number(as ?? 0) - Number(bs ?? 0);
}

function kindOf(m: ServerMessage): string {
  return m.type === 'posterior' ? 'p' : m.type === 'end' ? 'x' : m.type === 'ready' ? 'r' : 'e';
}

export class RedisBus implements SessionBus {
  readonly node: string;
  private readonly o: typeof DEFAULTS;
  private readonly cmd: Redis;
  private readonly reader: Redis;
  private readonly scripts: Record<'claim' | 'publish' | 'beat' | 'release' | 'snapshot' | 'alive' | 'seat', ScriptFn>;
  /** Seats this node holds: member → its es:sub key. */
  private readonly seats = new Map<string, string>();
  private seatCount = 0;
  private readonly local = new Map<string, Local>();
  private readonly followers = new Map<string, Set<Follower>>();
  private readonly nonce = randomBytes(6).toString('hex');
  private claims = 0;
  private published = 0;
  private lost = 0;
  private inflight = 0;
  private gapsReported = 0;
  private received = 0;
  private reconnects = 0;
  private readonly everReady = { cmd: false, reader: false };
  private readerId: string | undefined;
  /** The reader's XREAD in flight (its generation), and whether the followed set changed since it started. */
  private reading = 0;
  private dirty = false;
  private wake: (() => void) | undefined;
  private closed = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private beating = false;
  private checking = false;
  /** No publisher_gone verdicts until then: after a reconnect, nodes get one TTL to re-register. */
  private trustAfter = 0;
  private readerLoop: Promise<void> | undefined;

  private constructor(opts: RedisBusOptions) {
    this.o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as typeof DEFAULTS;
    this.node = opts.node ?? `${hostname()}-${process.pid}`;
    const base = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      keepAlive: 1000,
      retryStrategy: (times: number) => Math.min(100 * times, 1000),
    };
    this.cmd = new Redis(opts.url, { ...base, connectionName: `emostream:${this.node}` });
    this.reader = new Redis(opts.url, { ...base, connectionName: `emostream-reader:${this.node}` });
    for (const [c, name] of [
      [this.cmd, 'cmd'],
      [this.reader, 'reader'],
    ] as const) {
      c.on('error', () => {}); // reconnects on its own; state changes are read from 'ready'/'close'
      c.on('ready', () => this.onReady(name));
    }
    const define = (name: string, lua: string, n: number): ScriptFn => {
      this.cmd.defineCommand(name, { numberOfKeys: n, lua });
      return (this.cmd as unknown as Record<string, ScriptFn>)[name].bind(this.cmd);
    };
    this.scripts = {
      claim: define('esClaim', CLAIM, 4),
      publish: define('esPublish', PUBLISH, 3),
      beat: define('esBeat', BEAT, 4),
      release: define('esRelease', RELEASE, 4),
      snapshot: define('esSnapshot', SNAPSHOT, 4),
      alive: define('esAlive', ALIVE, 2),
      seat: define('esSeat', SEAT, 2),
    };
    this.cmd.defineCommand('esSeatBeat', { numberOfKeys: 1, lua: SEAT_BEAT });
  }

  /** Connects both connections; a bus that cannot be reached in time is a UserError (bus_unreachable). */
  static async connect(opts: RedisBusOptions): Promise<RedisBus> {
    const bus = new RedisBus(opts);
    const timeout = opts.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
    try {
      await Promise.race([
        Promise.all([bus.cmd.connect(), bus.reader.connect()]),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer in ${timeout} ms`)), timeout).unref()),
      ]);
    } catch (err) {
      bus.cmd.disconnect();
      bus.reader.disconnect();
      throw new UserError('bus_unreachable', `cannot reach the bus at ${opts.url}: ${(err as Error).message}`);
    }
    bus.start();
    return bus;
  }

  private start(): void {
    const beat = setInterval(() => void this.beat(), this.o.ttlMs / 3);
    const check = setInterval(() => void this.checkPublishers(), this.o.ttlMs / 4);
    beat.unref();
    check.unref();
    this.timers.push(beat, check);
    this.readerLoop = this.readLoop();
  }

  private onReady(which: 'cmd' | 'reader'): void {
    if (this.closed) return;
    if (this.everReady[which]) this.reconnects++;
    this.everReady[which] = true;
    if (which === 'cmd') {
      this.trustAfter = Date.now() + this.o.ttlMs;
      void this.beat();
    } else {
      this.readerId = undefined;
      this.trustAfter = Date.now() + this.o.ttlMs;
    }
  }

  // ------------------------------------------------------------------ publishing

  async claim(ready: ReadyMsg, opts: { maxSubscribers?: number } = {}): Promise<boolean> {
    const owner = `${this.node}:${this.nonce}:${++this.claims}`;
    const stored: Stored = {
      session: ready.session,
      node: this.node,
      startedAt: Date.now(),
      ready,
      owner,
      maxSubscribers: opts.maxSubscribers,
    };
    const record = JSON.stringify(stored);
    const [reg, all, ev, lp] = keys(ready.session);
    let ok: unknown;
    try {
      ok = await this.scripts.claim(reg, all, ev, lp, record, this.o.ttlMs, this.o.streamMax, JSON.stringify(ready), this.o.keepMs, owner);
    } catch (err) {
      throw new UserError('bus_unavailable', `the session could not be registered on the bus: ${(err as Error).message}`);
    }
    if (ok !== 1) return false;
    this.local.set(ready.session, { record, n: 0 });
    return true;
  }

  publish(session: string, m: ServerMessage): void {
    const s = this.local.get(session);
    if (!s) return;
    const n = ++s.n; // numbered even when lost: readers see the gap
    if (this.cmd.status !== 'ready' || this.inflight >= this.o.maxInflight) {
      this.lost++;
      return;
    }
    const [, all, ev, lp] = keys(session);
    this.inflight++;
    const channel = m.type === 'posterior' ? m.channel : 0;
    this.scripts.publish(all, ev, lp, n, kindOf(m), JSON.stringify(m), this.o.streamMax, this.o.historyCount, channel).then(
      () => {
        this.inflight--;
        this.published++;
      },
      () => {
        this.inflight--;
        this.lost++;
      },
    );
  }

  release(session: string): void {
    const s = this.local.get(session);
    if (!s) return;
    this.local.delete(session);
    if (this.cmd.status !== 'ready') return; // its record lapses within the TTL
    this.scripts.release(...keys(session), s.record, this.o.keepMs).catch(() => {});
  }

  private async beat(): Promise<void> {
    if (this.beating || this.cmd.status !== 'ready' || (this.local.size === 0 && this.seats.size === 0)) return;
    this.beating = true;
    try {
      const p = this.cmd.pipeline();
      for (const [id, s] of this.local) p.esBeat(...keys(id), s.record, this.o.ttlMs, this.o.keepMs);
      for (const [member, key] of this.seats) p.esSeatBeat(key, member, this.o.ttlMs);
      await p.exec();
    } catch {
      /* unreachable: the next beat tries again */
    } finally {
      this.beating = false;
    }
  }

  async list(): Promise<SessionRecord[]> {
    const ids: string[] = [];
    try {
      let cursor = '0';
      do {
        const [next, found] = await this.cmd.scan(cursor, 'MATCH', 'es:reg:*', 'COUNT', 1000);
        cursor = next;
        ids.push(...found);
      } while (cursor !== '0');
      if (ids.length === 0) return [];
      const values = await this.cmd.mget(...ids);
      return values.flatMap((v) => {
        if (!v) return [];
        const { owner: _, ...rec } = JSON.parse(v) as Stored;
        return [rec];
      });
    } catch (err) {
      throw new UserError('bus_unavailable', `the bus did not answer: ${(err as Error).message}`);
    }
  }

  // ------------------------------------------------------------------ subscriber seats

  /** Asks Redis for a seat; throws when it does not answer. */
  private async takeSeat(
    session: string,
  ): Promise<{ status: 'taken'; member: string } | { status: 'full'; cap: number } | { status: 'unknown' }> {
    const member = `${this.node}:${this.nonce}:s${++this.seatCount}`;
    const key = `es:sub:${session}`;
    const r = (await this.scripts.seat(`es:reg:${session}`, key, member, this.o.ttlMs)) as number | [number, number];
    if (r === -1 || !Array.isArray(r)) return { status: 'unknown' };
    if (r[0] !== 1) return { status: 'full', cap: r[1] };
    this.seats.set(member, key);
    return { status: 'taken', member };
  }

  private freeSeat(member: string | undefined): void {
    if (member === undefined) return;
    const key = this.seats.get(member);
    if (key === undefined) return;
    this.seats.delete(member);
    if (this.cmd.status === 'ready') this.cmd.zrem(key, member).catch(() => {}); // else it lapses within the TTL
  }

  async seat(session: string): Promise<SeatResult> {
    let r: Awaited<ReturnType<RedisBus['takeSeat']>>;
    try {
      r = await this.takeSeat(session);
    } catch (err) {
      throw new UserError('bus_unavailable', `the bus did not answer: ${(err as Error).message}`);
    }
    if (r.status !== 'taken') return r;
    return { status: 'taken', release: () => this.freeSeat(r.member) };
  }

  private full(f: Follower, cap: number): void {
    this.fail(f, 'too_many_subscribers', `session '${f.session}' already has ${cap} subscribers across all nodes`);
  }

  // ------------------------------------------------------------------ following

  follow(session: string, opts: FollowOptions, sink: FeedSink): Feed {
    const f: Follower = {
      session,
      key: `es:all:${session}`,
      sink,
      cursor: '0-0',
      lastN: -1,
      owner: undefined,
      timer: undefined,
      closed: false,
      seat: undefined,
      held: undefined,
    };
    void this.begin(f, opts);
    return { close: () => this.drop(f) };
  }

  private fail(f: Follower, code: string, message: string): void {
    if (f.closed) return;
    f.sink.message({ type: 'error', code, message, fatal: true });
    this.drop(f);
    f.sink.done();
  }

  private async begin(f: Follower, opts: FollowOptions): Promise<void> {
    let snap: [string | null, Entry[], Entry[]?, string[]?];
    try {
      // A seat first, so a full session sends nothing but its refusal.
      const seat = await this.takeSeat(f.session);
      if (seat.status === 'full') return this.full(f, seat.cap);
      if (seat.status === 'taken') {
        f.seat = seat.member;
        if (f.closed) return this.freeSeat(f.seat);
      }
      snap = (await this.scripts.snapshot(...keys(f.session), opts.history.ageMs, opts.history.count)) as typeof snap;
    } catch (err) {
      return this.fail(f, 'bus_unavailable', `the bus did not answer: ${(err as Error).message}`);
    }
    if (f.closed) return;
    const [rec, last, evs = [], lps = []] = snap;
    const lastEntry = last[0];
    const ended = lastEntry && field(lastEntry[1], 'k') === 'x';
    const live = Boolean(rec && !ended && lastEntry);
    if (!live) {
      // Not started (or ended) by the snapshot: a waiter takes its seat when the session starts.
      this.freeSeat(f.seat);
      f.seat = undefined;
    } else if (f.seat === undefined) {
      // It started between the seat request and the snapshot.
      try {
        const seat = await this.takeSeat(f.session);
        if (seat.status === 'full') return this.full(f, seat.cap);
        if (seat.status === 'taken') f.seat = seat.member;
      } catch (err) {
        return this.fail(f, 'bus_unavailable', `the bus did not answer: ${(err as Error).message}`);
      }
      if (f.closed) return this.freeSeat(f.seat);
    }
    if (live && rec && lastEntry) {
      const stored = JSON.parse(rec) as Stored;
      f.owner = stored.owner;
      f.sink.message(stored.ready);
      const history = evs.reverse();
      // The latest posterior of each track, placed among the history by stream id.
      const posteriors = lps
        .map((v) => {
          const cut = v.indexOf('\n');
          return [v.slice(0, cut), v.slice(cut + 1)] as const;
        })
        .sort((a, b) => compareIds(a[0], b[0]));
      let k = 0;
      for (const [id, fields] of history) {
        while (k < posteriors.length && compareIds(posteriors[k][0], id) < 0)
          f.sink.message(JSON.parse(posteriors[k++][1]) as ServerMessage);
        f.sink.message(JSON.parse(field(fields, 'm')!) as ServerMessage);
      }
      while (k < posteriors.length) f.sink.message(JSON.parse(posteriors[k++][1]) as ServerMessage);
      f.cursor = lastEntry[0];
      f.lastN = Number(field(lastEntry[1], 'n'));
    } else {
      if (!(opts.waitMs > 0)) {
        return this.fail(f, 'unknown_session', `no session '${f.session}' is being published on any node`);
      }
      f.cursor = lastEntry ? lastEntry[0] : '0-0';
      f.timer = setTimeout(
        () => this.fail(f, 'session_not_started', `session '${f.session}' did not start within ${opts.waitMs} ms`),
        opts.waitMs,
      );
      f.timer.unref();
    }
    let set = this.followers.get(f.key);
    if (!set) this.followers.set(f.key, (set = new Set()));
    set.add(f);
    this.changed();
  }

  private drop(f: Follower): void {
    if (f.closed) return;
    f.closed = true;
    clearTimeout(f.timer);
    this.freeSeat(f.seat);
    f.seat = undefined;
    const set = this.followers.get(f.key);
    if (set?.delete(f) && set.size === 0) this.followers.delete(f.key);
    this.changed();
  }

  /** The followed set changed: the reader's blocking XREAD must restart with the new streams. */
  private changed(): void {
    this.dirty = true;
    this.wake?.();
    const gen = this.reading;
    if (gen === 0 || this.readerId === undefined) return;
    const unblock = () => {
      if (this.reading === gen && this.cmd.status === 'ready') this.cmd.client('UNBLOCK', this.readerId!).catch(() => {});
    };
    unblock();
    // The UNBLOCK may reach Redis before the XREAD it targets: once more, a moment later.
    setTimeout(unblock, 20).unref();
  }

  private async readLoop(): Promise<void> {
    let generation = 0;
    while (!this.closed) {
      if (this.followers.size === 0) {
        await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
        continue;
      }
      if (this.reader.status !== 'ready') {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      try {
        this.readerId ??= String(await this.reader.client('ID'));
      } catch {
        continue;
      }
      const streams: string[] = [];
      const ids: string[] = [];
      for (const [key, set] of this.followers) {
        let min: string | undefined;
        for (const f of set) if (min === undefined || compareIds(f.cursor, min) < 0) min = f.cursor;
        streams.push(key);
        ids.push(min!);
      }
      this.dirty = false;
      this.reading = ++generation;
      let res: [string, Entry[]][] | null;
      try {
        res = (await this.reader.xread('COUNT', 500, 'BLOCK', BLOCK_MS, 'STREAMS', ...streams, ...ids)) as [string, Entry[]][] | null;
      } catch {
        res = null;
        if (this.reader.status === 'ready') await new Promise((r) => setTimeout(r, 50)); // e.g. UNBLOCK ... ERROR
      } finally {
        this.reading = 0;
      }
      if (res) for (const [key, entries] of res) this.deliver(key, entries);
    }
  }

  private deliver(key: string, entries: Entry[]): void {
    const set = this.followers.get(key);
    if (!set) return;
    for (const [id, fields] of entries) {
      const n = Number(field(fields, 'n'));
      const kind = field(fields, 'k');
      let msg: ServerMessage | undefined;
      for (const f of [...set]) {
        if (f.closed || compareIds(id, f.cursor) <= 0) continue;
        f.cursor = id;
        if (f.lastN < 0) {
          if (kind !== 'r') continue; // waiting: the session starts with its ready
          clearTimeout(f.timer);
          f.owner = field(fields, 'o');
          f.held = [];
          void this.seatWaiter(f);
        } else if (n > f.lastN + 1) {
          const missed = n - f.lastN - 1;
          this.gapsReported += missed;
          f.sink.message({
            type: 'error',
            code: 'bus_lost',
            message: `${missed} message(s) of this session were lost between nodes (the bus was unreachable or this reader fell behind)`,
            fatal: false,
            skipped: missed,
          });
        }
        f.lastN = n;
        if (msg === undefined) {
          msg = JSON.parse(field(fields, 'm')!) as ServerMessage;
          this.received++;
        }
        this.hand(f, msg);
      }
    }
  }

  /** One message to a follower's subscriber, or to its hold while its seat is being taken; `end` finishes it. */
  private hand(f: Follower, m: ServerMessage): void {
    if (f.held) {
      f.held.push(m);
      return;
    }
    f.sink.message(m);
    if (m.type === 'end') {
      this.drop(f);
      f.sink.done();
    }
  }

  /** A waiter's session started: it gets its messages (held meanwhile) once it has a seat. */
  private async seatWaiter(f: Follower): Promise<void> {
    let seat: Awaited<ReturnType<RedisBus['takeSeat']>>;
    try {
      seat = await this.takeSeat(f.session);
    } catch (err) {
      return this.fail(f, 'bus_unavailable', `the bus did not answer: ${(err as Error).message}`);
    }
    if (seat.status === 'full') return this.full(f, seat.cap);
    if (seat.status === 'taken') f.seat = seat.member;
    if (f.closed) return this.freeSeat(f.seat); // ('unknown': it already ended; its messages go out)
    const held = f.held ?? [];
    f.held = undefined;
    for (const m of held) if (!f.closed) this.hand(f, m);
  }

  /** Followers whose publishing node stopped refreshing the session's record get publisher_gone. */
  private async checkPublishers(): Promise<void> {
    if (this.checking || this.cmd.status !== 'ready' || Date.now() < this.trustAfter) return;
    const started = [...this.followers.values()].flatMap((set) => [...set].filter((f) => f.lastN >= 0 && !f.closed));
    if (started.length === 0) return;
    this.checking = true;
    try {
      const p = this.cmd.pipeline();
      for (const f of started) p.esAlive(`es:reg:${f.session}`, f.key, f.owner ?? '');
      const results = (await p.exec()) ?? [];
      if (Date.now() < this.trustAfter) return;
      results.forEach(([err, alive], i) => {
        if (!err && alive === 0) {
          this.fail(
            started[i],
            'publisher_gone',
            `the node publishing session '${started[i].session}' stopped answering; its session is over`,
          );
        }
      });
    } catch {
      /* unreachable: decided at the next check */
    } finally {
      this.checking = false;
    }
  }

  stats(): BusStats {
    let following = 0;
    for (const set of this.followers.values()) following += set.size;
    return {
      connected: this.cmd.status === 'ready' && this.reader.status === 'ready',
      published: this.published,
      received: this.received,
      reconnects: this.reconnects,
      lost: this.lost,
      inflight: this.inflight,
      following,
      seats: this.seats.size,
      gapsReported: this.gapsReported,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timers.forEach(clearInterval);
    for (const set of this.followers.values()) for (const f of set) clearTimeout(f.timer);
    this.followers.clear();
    this.wake?.();
    if (this.cmd.status === 'ready') {
      const p = this.cmd.pipeline();
      for (const [id, s] of this.local) p.esRelease(...keys(id), s.record, this.o.keepMs);
      for (const [member, key] of this.seats) p.zrem(key, member);
      await p.exec().catch(() => {});
    }
    this.local.clear();
    this.seats.clear();
    this.reader.disconnect();
    await this.readerLoop?.catch(() => {});
    await this.cmd.quit().catch(() => this.cmd.disconnect());
  }
}

declare module 'ioredis' {
  interface ChainableCommander {
    esBeat(...args: (string | number)[]): ChainableCommander;
    esRelease(...args: (string | number)[]): ChainableCommander;
    esAlive(...args: (string | number)[]): ChainableCommander;
    esSeatBeat(...args: (string | number)[]): ChainableCommander;
  }
}
