// `serve --engine remote`: an Engine whose batches are computed by `emostream infer-worker`
// processes reading the bus. A batch no worker answers within the deadline is computed by the
// node's own engine (fallback "local") or reported as skipped windows (fallback "overloaded",
// which the sessions announce with the `overloaded` error): never a silent gap.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { UserError } from '../errors.js';
import { EngineOverloaded, type Engine, type EngineStats } from '../inference/engine.js';
import { decodeReply, bufferToFloats, floatsToBuffer, REPLY_OK, REQUESTS, REQUESTS_MAX } from './remote-wire.js';

export type RemoteFallback = 'local' | 'overloaded';

export interface RemoteEngineOptions {
  url: string;
  /** This node's own engine: its labels and model name, and the fallback computer. */
  local: Engine;
  /** Longest a batch waits for a worker, ms. */
  deadlineMs: number;
  fallback: RemoteFallback;
}

export type RemoteStats = EngineStats;

interface Pending {
  n: number;
  resolve(out: Float32Array[] | undefined): void;
}

export class RemoteEngine implements Engine {
  readonly backend: string;
  readonly model: string;
  readonly labels: readonly string[];
  private readonly replyKey: string;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private closed = false;
  private readonly counts: RemoteStats = { remoteWindows: 0, localWindows: 0, overloadedWindows: 0, timedOutBatches: 0, late: 0 };
  private loop: Promise<void> | undefined;

  private constructor(
    private readonly o: RemoteEngineOptions,
    private readonly cmd: Redis,
    private readonly reader: Redis,
  ) {
    this.model = o.local.model;
    this.labels = o.local.labels;
    this.backend = `remote (fallback ${o.fallback === 'local' ? o.local.backend : 'overloaded'})`;
    this.replyKey = `es:reply:${randomBytes(8).toString('hex')}`;
  }

  static async connect(o: RemoteEngineOptions): Promise<RemoteEngine> {
    const base = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (t: number) => Math.min(100 * t, 1000),
    };
    const cmd = new Redis(o.url, base);
    const reader = new Redis(o.url, base);
    cmd.on('error', () => {});
    reader.on('error', () => {});
    try {
      await Promise.all([cmd.connect(), reader.connect()]);
    } catch (err) {
      cmd.disconnect();
      reader.disconnect();
      throw new UserError('bus_unreachable', `cannot reach the bus at ${o.url}: ${(err as Error).message}`);
    }
    const e = new RemoteEngine(o, cmd, reader);
    e.loop = e.readReplies();
    return e;
  }

  stats(): RemoteStats {
    return { ...this.counts };
  }

  async infer(windows: readonly Float32Array[]): Promise<Float32Array[]> {
    const id = (this.seq = (this.seq + 1) >>> 0);
    const answer = new Promise<Float32Array[] | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(undefined);
      }, this.o.deadlineMs);
      this.pending.set(id, {
        n: windows.length,
        resolve: (out) => {
          clearTimeout(timer);
          this.pending.delete(id);
          resolve(out);
        },
      });
    });
    const deadline = Date.now() + this.o.deadlineMs;
    this.cmd
      .xadd(
        REQUESTS,
        'MAXLEN',
        '~',
        REQUESTS_MAX,
        '*',
        'reply',
        this.replyKey,
        'id',
        id,
        'deadline',
        deadline,
        'model',
        this.model,
        'n',
        windows.length,
        'd',
        floatsToBuffer(windows),
      )
      .catch(() => this.pending.get(id)?.resolve(undefined)); // the bus is unreachable: fall back now
    const out = await answer;
    if (out) {
      this.counts.remoteWindows += windows.length;
      return out;
    }
    this.counts.timedOutBatches++;
    if (this.o.fallback === 'overloaded') {
      this.counts.overloadedWindows += windows.length;
      throw new EngineOverloaded(`no inference worker answered within ${this.o.deadlineMs} ms`);
    }
    this.counts.localWindows += windows.length;
    return this.o.local.infer(windows);
  }

  private async readReplies(): Promise<void> {
    while (!this.closed) {
      let got: [Buffer, Buffer] | null;
      try {
        got = await this.reader.blpopBuffer(this.replyKey, 1);
      } catch {
        if (!this.closed) await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (!got) continue;
      const { id, status, body } = decodeReply(got[1]);
      const p = this.pending.get(id);
      if (!p) {
        this.counts.late++;
        continue;
      }
      if (status !== REPLY_OK) p.resolve(undefined);
      else {
        try {
          p.resolve(bufferToFloats(body, p.n));
        } catch {
          p.resolve(undefined);
        }
      }
    }
  }

  async dispose(): Promise<void> {
    this.closed = true;
    for (const p of this.pending.values()) p.resolve(undefined);
    this.reader.disconnect();
    await this.loop;
    await this.cmd.quit().catch(() => this.cmd.disconnect());
    await this.o.local.dispose();
  }
}
