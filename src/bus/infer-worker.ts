// `emostream infer-worker`: takes inference requests of every node from the bus (a consumer
// group: each request to one worker), computes the windows of several requests as one batch,
// and pushes each node its posteriors. Requests already past their deadline are dropped unread
// (their node has computed or reported them).
import { Redis } from 'ioredis';
import { UserError } from '../errors.js';
import type { Engine } from '../inference/engine.js';
import { bufferToFloats, encodeReply, floatsToBuffer, GROUP, REPLY_ERROR, REPLY_OK, REQUESTS } from './remote-wire.js';

export interface InferWorkerOptions {
  url: string;
  engine: Engine;
  /** This worker's consumer name. */
  name: string;
  /** Most windows per engine batch (across requests). */
  maxBatch: number;
}

export interface WorkerStats {
  batches: number;
  windows: number;
  expired: number;
}

interface Request {
  streamId: string;
  reply: string;
  id: number;
  deadline: number;
  model: string;
  windows: Float32Array[];
}

function fieldsOf(raw: Buffer[]): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  for (let i = 0; i + 1 < raw.length; i += 2) m.set(raw[i].toString(), raw[i + 1]);
  return m;
}

export class InferWorker {
  private closed = false;
  private loop: Promise<void> | undefined;
  readonly stats: WorkerStats = { batches: 0, windows: 0, expired: 0 };

  private constructor(
    private readonly o: InferWorkerOptions,
    private readonly r: Redis,
  ) {}

  static async start(o: InferWorkerOptions): Promise<InferWorker> {
    const r = new Redis(o.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: (t) => Math.min(100 * t, 1000),
    });
    r.on('error', () => {});
    try {
      await r.connect();
      await r.xgroup('CREATE', REQUESTS, GROUP, '$', 'MKSTREAM').catch((err: Error) => {
        if (!/BUSYGROUP/.test(err.message)) throw err;
      });
    } catch (err) {
      r.disconnect();
      throw new UserError('bus_unreachable', `cannot reach the bus at ${o.url}: ${(err as Error).message}`);
    }
    const w = new InferWorker(o, r);
    w.loop = w.run();
    return w;
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      let res: [Buffer, [Buffer, Buffer[]][]][] | null;
      try {
        // Requests are node batches (≤ their --max-batch); ask for enough to fill ours.
        res = (await this.r.callBuffer(
          'XREADGROUP',
          'GROUP',
          GROUP,
          this.o.name,
          'COUNT',
          this.o.maxBatch,
          'BLOCK',
          1000,
          'STREAMS',
          REQUESTS,
          '>',
        )) as typeof res;
      } catch {
        if (!this.closed) await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      if (!res) continue;
      // RESP2 answers [[stream, entries]]; RESP3's map arrives flattened as [stream, entries].
      const entries = (Buffer.isBuffer(res[0]) ? res[1] : res[0][1]) as unknown as [Buffer, Buffer[]][];
      const now = Date.now();
      const ids: string[] = [];
      const live: Request[] = [];
      const broken: Request[] = [];
      for (const [id, raw] of entries) {
        ids.push(id.toString());
        const f = fieldsOf(raw);
        const req: Request = {
          streamId: id.toString(),
          reply: f.get('reply')?.toString() ?? '',
          id: Number(f.get('id')),
          deadline: Number(f.get('deadline')),
          model: f.get('model')?.toString() ?? '',
          windows: [],
        };
        if (req.deadline < now) {
          this.stats.expired++;
          continue;
        }
        try {
          if (req.model !== this.o.engine.model) throw new Error(`model '${req.model}' asked, this worker serves '${this.o.engine.model}'`);
          req.windows = bufferToFloats(f.get('d') ?? Buffer.alloc(0), Number(f.get('n')));
          live.push(req);
        } catch {
          broken.push(req);
        }
      }
      const p = this.r.pipeline();
      for (const b of broken) p.rpush(b.reply, encodeReply(b.id, REPLY_ERROR, Buffer.from('bad request'))).pexpire(b.reply, 60_000);
      if (live.length > 0) {
        try {
          const out = await this.o.engine.infer(live.flatMap((q) => q.windows));
          this.stats.batches++;
          let k = 0;
          for (const q of live) {
            const mine = out.slice(k, k + q.windows.length);
            k += q.windows.length;
            this.stats.windows += mine.length;
            p.rpush(q.reply, encodeReply(q.id, REPLY_OK, floatsToBuffer(mine))).pexpire(q.reply, 60_000);
          }
        } catch (err) {
          for (const q of live)
            p.rpush(q.reply, encodeReply(q.id, REPLY_ERROR, Buffer.from((err as Error).message))).pexpire(q.reply, 60_000);
        }
      }
      p.xack(REQUESTS, GROUP, ...ids).xdel(REQUESTS, ...ids);
      await p.exec().catch(() => {});
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.r.disconnect();
    await this.loop;
  }
}
