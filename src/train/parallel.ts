// Data-parallel gradients on worker threads. tfjs's WASM backend runs on one core under Node
// (its threads are disabled there), so a training step uses more cores only by splitting
// the batch: each worker thread holds a copy of the model, receives the current weights and
// its share of the batch, and returns that share's gradient; the main thread computes the
// first share itself, sums, and takes the one Adam step. Each share normalises with its own
// BatchNorm statistics (as micro-batches do), so results depend on the worker count.
import type { Worker } from 'node:worker_threads';
import { tf } from '../model/tf.js';
import { WINDOW_SIZE } from '../dsp/types.js';
import { partGradients, type PartGradients } from './gradients.js';
import { spawnWorker } from '../util/spawn-worker.js';

export interface GradientWorkerInit {
  modelTopology: unknown;
  numClasses: number;
}
export interface GradientRequest {
  weights: Float32Array[];
  x: Float32Array;
  y: Int32Array;
  batchLen: number;
  micro?: number;
  /** Seeds the worker's Math.random (tfjs draws dropout seeds from it) for this share. */
  seed: number;
}
export type GradientReply = { grads: Float32Array[]; lossSum: number; correct: number } | { error: string } | { ready: true };

export class GradientWorkers {
  private constructor(private readonly workers: Worker[]) {}

  /** Start `count` workers holding copies of `model` (topology only: weights come per step). */
  static async start(count: number, model: tf.LayersModel, numClasses: number): Promise<GradientWorkers> {
    const init: GradientWorkerInit = { modelTopology: model.toJSON(null, false), numClasses };
    const workers = Array.from({ length: count }, () => spawnWorker('./gradient-worker', import.meta.url, init));
    try {
      await Promise.all(workers.map((w) => reply(w)));
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw err;
    }
    return new GradientWorkers(workers);
  }

  /**
   * The gradient of a batch (normalised windows x, labels y) split into count + 1 contiguous
   * shares; the first is computed here with `model`/`vars`, the rest on the workers.
   */
  async gradients(
    model: tf.LayersModel,
    vars: tf.Variable[],
    x: Float32Array,
    y: Int32Array,
    k: number,
    micro?: number,
  ): Promise<PartGradients> {
    const n = y.length;
    const per = Math.ceil(n / (this.workers.length + 1));
    const weights = vars.map((v) => v.dataSync() as Float32Array);
    const jobs = this.workers.map((w, i) => {
      const lo = (i + 1) * per,
        hi = Math.min(n, lo + per);
      if (lo >= hi) return null;
      const req: GradientRequest = {
        weights,
        x: x.slice(lo * WINDOW_SIZE, hi * WINDOW_SIZE),
        y: y.slice(lo, hi),
        batchLen: n,
        micro,
        seed: Math.floor(Math.random() * 2 ** 31),
      };
      w.postMessage(req, [req.x.buffer as ArrayBuffer, req.y.buffer as ArrayBuffer]);
      return reply(w);
    });
    // Settled, not raced: a worker failing while this thread computes must not surface as an
    // unhandled rejection (fatal under tfjs-wasm's handlers), nor leave the others unwaited.
    const replies = Promise.allSettled(jobs);
    const mine = await partGradients(model, vars, x.subarray(0, per * WINDOW_SIZE), y.subarray(0, per), k, n, micro);
    const settled = await replies;
    const failed = settled.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) {
      tf.dispose(mine.grads);
      throw failed.reason;
    }
    for (const o of settled) {
      if (o.status !== 'fulfilled' || !o.value) continue;
      const r = o.value as Extract<GradientReply, { grads: Float32Array[] }>;
      mine.grads = mine.grads.map((g, i) => {
        const sum = tf.tidy(() => tf.add(g, tf.tensor(r.grads[i], g.shape)));
        g.dispose();
        return sum;
      });
      mine.lossSum += r.lossSum;
      mine.correct += r.correct;
    }
    return mine;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

function reply(w: Worker): Promise<GradientReply> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: GradientReply) => {
      w.off('error', onError);
      if ('error' in m) reject(new Error(`gradient worker: ${m.error}`));
      else resolve(m);
    };
    const onError = (err: Error) => {
      w.off('message', onMessage);
      reject(err);
    };
    w.once('message', onMessage);
    w.once('error', onError);
  });
}
