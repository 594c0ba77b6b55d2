// The training loop: Adam (lr 1e-3) with L2 weight decay added to the gradients (as PyTorch's
// Adam(weight_decay=…) does), batches of 32, cross-entropy, early stopping on the validation
// loss with the best epoch's weights restored. All randomness is seeded.
import { tf } from '../model/tf.js';
import type { Normalization } from '../dsp/normalize.js';
import { N_CHANNELS, N_MELS, WINDOW_FRAMES } from '../dsp/types.js';
import { makeBatch, segmentsOf, type LoadedUtterance, type Segment } from './dataset.js';
import { argmax, computeMetrics, type Metrics } from './metrics.js';
import { rng, shuffle } from './protocols.js';
import { Progress } from './progress.js';
import { loadResume, saveResume } from './resume.js';
import { augmentSignal, specAugment, type AugmentConfig } from './augment.js';
import { computeFeatures } from '../dsp/features.js';
import type { GradientWorkers } from './parallel.js';
import { averagePosteriors } from '../inference/utterance.js';
import { crossEntropy, partGradients, windowTensors, type PartGradients } from './gradients.js';

export interface TrainConfig {
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  /** Stop after this many epochs without a lower validation loss (0 = never stop early). */
  patience: number;
  seed: number;
  /** Split each batch into parts of at most this many segments and sum their gradients
   * (one Adam step per batch), for memory; 0 or absent = whole batches. BatchNorm then sees
   * the statistics of each part. */
  microBatch?: number;
  /** Threads computing each batch's gradient together (data parallel, parallel.ts); 1 or
   * absent = this thread only. */
  workers?: number;
  /** Augment every training utterance afresh each epoch (augment.ts; needs each utterance's signal). */
  augment?: AugmentConfig;
  /** Draw each epoch's segments with weights 1 / (segments of the same corpus and label), so
   *  every (corpus, class) pair weighs the same, instead of taking each segment once. */
  balance?: boolean;
}

export const PAPER_TRAINING: TrainConfig = { epochs: 150, batchSize: 32, lr: 1e-3, weightDecay: 5e-4, patience: 15, seed: 1 };

export interface EpochLog {
  epoch: number;
  loss: number;
  acc: number;
  valLoss: number;
  valWa: number;
  valUa: number;
  samplesPerSec: number;
  seconds: number;
}

export interface TrainResult {
  history: EpochLog[];
  bestEpoch: number;
  stoppedEarly: boolean;
  trainSeconds: number;
  trainSegments: number;
}

export interface TrainHooks {
  /** Called after every epoch (e.g. to write a log line or checkpoint). */
  onEpoch?: (log: EpochLog, improved: boolean) => Promise<void> | void;
  /** Show a progress bar on stderr (default true). */
  progress?: boolean;
  /** Label for the progress bar, e.g. "fold 3/10". */
  label?: string;
  /** Keep the state at the end of every epoch here, and continue from it if it exists (resume.ts). */
  resumeDir?: string;
  /** Called once when a run resumes, with the epochs it had already finished. */
  onResume?: (history: EpochLog[]) => Promise<void> | void;
}

/** The seed of one epoch's stream `stream`: every epoch draws afresh from (seed, epoch), so a
 *  run resumed at an epoch repeats the uninterrupted run. */
function epochSeed(seed: number, epoch: number, stream: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(epoch, 0x85ebca6b) ^ Math.imul(stream, 0xc2b2ae35)) >>> 0;
}

function batchTensors(utts: readonly LoadedUtterance[], segs: readonly Segment[], norm: Normalization, k: number) {
  const { x, y } = makeBatch(utts, segs, norm.mean, norm.std, norm.windowMean);
  return windowTensors(x, y, k);
}

/** Segment posteriors averaged per utterance (the paper's test-time decision rule). */
export async function predictUtterances(
  model: tf.LayersModel,
  utts: readonly LoadedUtterance[],
  norm: Normalization,
  batchSize = 32,
): Promise<{ posteriors: Float32Array[]; segLoss: number }> {
  const k = model.outputs[0].shape[1] as number;
  const segs = segmentsOf(utts);
  const probs = new Float32Array(segs.length * k);
  let lossSum = 0;
  for (let i = 0; i < segs.length; i += batchSize) {
    const part = segs.slice(i, i + batchSize);
    const { x, y } = batchTensors(utts, part, norm, k);
    const p = model.predict(x) as tf.Tensor;
    const loss = crossEntropy(p, y);
    probs.set((await p.data()) as Float32Array, i * k);
    lossSum += (await loss.data())[0] * part.length;
    tf.dispose([x, y, p, loss]);
  }
  const posteriors = averagePosteriors(
    segs.map((s) => s.utt),
    probs,
    utts.length,
    k,
  );
  return { posteriors, segLoss: segs.length ? lossSum / segs.length : NaN };
}

export async function evaluateUtterances(
  model: tf.LayersModel,
  utts: readonly LoadedUtterance[],
  norm: Normalization,
  labels: string[],
): Promise<{ metrics: Metrics; posteriors: Float32Array[]; segLoss: number }> {
  const { posteriors, segLoss } = await predictUtterances(model, utts, norm);
  const metrics = computeMetrics(
    utts.map((u) => u.y),
    posteriors.map(argmax),
    labels,
  );
  return { metrics, posteriors, segLoss };
}

export async function trainModel(
  model: tf.LayersModel,
  train: readonly LoadedUtterance[],
  val: readonly LoadedUtterance[],
  norm: Normalization,
  labels: string[],
  cfg: TrainConfig,
  hooks: TrainHooks = {},
): Promise<TrainResult> {
  const k = labels.length;
  const segs = segmentsOf(train);
  const optimizer = tf.train.adam(cfg.lr);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const history: EpochLog[] = [];
  let best = { loss: Infinity, epoch: 0, weights: null as tf.Tensor[] | null };
  let stoppedEarly = false;
  const t0 = performance.now();
  const bar = new Progress(hooks.progress ?? true, hooks.label ?? '');
  // tfjs draws unseeded random numbers (dropout masks) from seeds taken from Math.random;
  // a seeded Math.random for the duration of training makes runs repeatable while every
  // step still gets a fresh mask.
  const savedRandom = Math.random;
  let pool: GradientWorkers | null = null;
  let epochUtts = train;
  const gradients = (part: Segment[]): Promise<PartGradients> => {
    const { x, y } = makeBatch(epochUtts, part, norm.mean, norm.std, norm.windowMean);
    return pool ? pool.gradients(model, vars, x, y, k, cfg.microBatch) : partGradients(model, vars, x, y, k, part.length, cfg.microBatch);
  };
  try {
    // Inside the try: a worker that fails to start must still leave Math.random restored.
    if (cfg.workers && cfg.workers > 1) pool = await (await import('./parallel.js')).GradientWorkers.start(cfg.workers - 1, model, k);
    let first = 1;
    const resumed = hooks.resumeDir ? await loadResume<EpochLog>(hooks.resumeDir, model, optimizer) : null;
    if (resumed) {
      history.push(...resumed.history);
      await hooks.onResume?.(resumed.history);
      best = { loss: resumed.bestLoss, epoch: resumed.bestEpoch, weights: resumed.best };
      first = resumed.epoch + 1;
      if (hooks.progress ?? true) process.stderr.write(`${hooks.label ? hooks.label + ' ' : ''}resuming after epoch ${resumed.epoch}\n`);
      if (val.length && cfg.patience > 0 && resumed.epoch - best.epoch >= cfg.patience) {
        stoppedEarly = true;
        first = cfg.epochs + 1;
      }
    }
    for (let epoch = first; epoch <= cfg.epochs; epoch++) {
      const rand = rng(epochSeed(cfg.seed, epoch, 1));
      // tfjs's dropout seeds come from Math.random.
      Math.random = rng(epochSeed(cfg.seed, epoch, 2));
      epochUtts = cfg.augment ? augmentEpoch(train, cfg.augment, rng(epochSeed(cfg.seed, epoch, 3))) : train;
      const epochSegs = cfg.augment ? segmentsOf(epochUtts) : segs;
      const order = cfg.balance ? balancedDraw(epochSegs, epochUtts, rand) : shuffle(epochSegs.slice(), rand);
      const batches = Math.ceil(order.length / cfg.batchSize);
      const e0 = performance.now();
      let lossSum = 0,
        correct = 0,
        seen = 0;
      for (let b = 0; b < batches; b++) {
        const part = order.slice(b * cfg.batchSize, (b + 1) * cfg.batchSize);
        const r = await gradients(part);
        correct += r.correct;
        lossSum += r.lossSum;
        seen += part.length;
        tf.tidy(() => {
          const decayed: tf.NamedTensorMap = {};
          vars.forEach((v, i) => {
            decayed[v.name] = cfg.weightDecay ? tf.add(r.grads[i], tf.mul(v, cfg.weightDecay)) : r.grads[i];
          });
          optimizer.applyGradients(decayed as unknown as Parameters<typeof optimizer.applyGradients>[0]);
        });
        tf.dispose(r.grads);
        const secs = (performance.now() - e0) / 1000;
        bar.update(
          `epoch ${epoch}/${cfg.epochs}`,
          (b + 1) / batches,
          `loss ${(lossSum / seen).toFixed(3)} acc ${((100 * correct) / seen).toFixed(1)}% ${(seen / secs).toFixed(1)} samples/s ETA ${fmtSecs((secs / (b + 1)) * (batches - b - 1))}`,
        );
      }
      const seconds = (performance.now() - e0) / 1000;
      recalibrateBatchNorm(model, train, segs, norm, k, Math.min(cfg.batchSize, cfg.microBatch || Infinity), rand);
      const v = val.length ? await evaluateUtterances(model, val, norm, labels) : null;
      const log: EpochLog = {
        epoch,
        loss: lossSum / seen,
        acc: correct / seen,
        valLoss: v ? v.segLoss : NaN,
        valWa: v ? v.metrics.wa : NaN,
        valUa: v ? v.metrics.ua : NaN,
        samplesPerSec: seen / seconds,
        seconds,
      };
      history.push(log);
      // Without a validation set, the training loss stands in (no early stopping then).
      const crit = v ? log.valLoss : log.loss;
      const improved = crit < best.loss;
      if (improved) {
        best.weights?.forEach((t) => t.dispose());
        best = { loss: crit, epoch, weights: model.getWeights().map((t) => t.clone()) };
      }
      bar.done(
        `epoch ${epoch}/${cfg.epochs} loss ${log.loss.toFixed(3)} acc ${(100 * log.acc).toFixed(1)}%` +
          (v ? ` | val loss ${log.valLoss.toFixed(3)} WA ${(100 * log.valWa).toFixed(1)}% UA ${(100 * log.valUa).toFixed(1)}%` : '') +
          ` | ${log.samplesPerSec.toFixed(1)} samples/s ${seconds.toFixed(0)} s${improved ? ' *' : ''}`,
      );
      if (hooks.resumeDir) {
        await saveResume(hooks.resumeDir, { epoch, bestLoss: best.loss, bestEpoch: best.epoch, history }, model, optimizer, best.weights);
      }
      await hooks.onEpoch?.(log, improved);
      if (v && cfg.patience > 0 && epoch - best.epoch >= cfg.patience) {
        stoppedEarly = true;
        break;
      }
    }
  } finally {
    Math.random = savedRandom;
    await pool?.close();
  }
  if (best.weights) {
    model.setWeights(best.weights);
    best.weights.forEach((t) => t.dispose());
  }
  optimizer.dispose();
  return { history, bestEpoch: best.epoch, stoppedEarly, trainSeconds: (performance.now() - t0) / 1000, trainSegments: segs.length };
}

/** This epoch's copy of the training utterances: each one's signal augmented, its features recomputed. */
export function augmentEpoch(train: readonly LoadedUtterance[], cfg: AugmentConfig, rand: () => number): LoadedUtterance[] {
  const pool = train.map((u) => u.signal).filter((s): s is Float32Array => s !== undefined);
  return train.map((u) => {
    if (!u.signal) throw new Error(`augmentation needs the signal of ${u.path}`);
    const features = computeFeatures(augmentSignal(u.signal, cfg, rand, pool));
    if (rand() < cfg.pSpecAugment) specAugment(features, rand);
    return { ...u, features };
  });
}

/** segs.length segments drawn with replacement, each with weight 1 / (segments of its corpus and label). */
export function balancedDraw(segs: readonly Segment[], utts: readonly LoadedUtterance[], rand: () => number): Segment[] {
  const key = (s: Segment) => `${utts[s.utt].corpus ?? ''}|${s.y}`;
  const count = new Map<string, number>();
  for (const s of segs) count.set(key(s), (count.get(key(s)) ?? 0) + 1);
  const cum = new Float64Array(segs.length);
  let total = 0;
  segs.forEach((s, i) => (cum[i] = total += 1 / count.get(key(s))!));
  return segs.map(() => {
    const r = rand() * total;
    let lo = 0,
      hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] <= r) lo = mid + 1;
      else hi = mid;
    }
    return segs[lo];
  });
}

/** Batches used to re-estimate BatchNorm statistics after each epoch. */
export const BN_RECALIBRATION_BATCHES = 16;

/**
 * Re-estimate every BatchNorm layer's moving mean/variance as the average of batch statistics
 * over up to 16 training batches, with dropout switched off. Why: each conv block ends in
 * dropout feeding the next block's BatchNorm, so the moving statistics collected during
 * training describe dropout-noised activations, whose variance is larger than at inference
 * ("variance shift", Li et al., CVPR 2019). Measured here: a model at 57 % training-mode
 * accuracy scored 18 % in inference mode; after this re-estimation, 55 %.
 */
export function recalibrateBatchNorm(
  model: tf.LayersModel,
  utts: readonly LoadedUtterance[],
  segs: readonly Segment[],
  norm: Normalization,
  k: number,
  batchSize: number,
  rand: () => number,
): void {
  type Dropout = { rate: number };
  type BatchNorm = { momentum: number };
  const dropouts = model.layers.filter((l) => l.getClassName() === 'Dropout') as unknown as Dropout[];
  const bns = model.layers.filter((l) => l.getClassName() === 'BatchNormalization') as unknown as BatchNorm[];
  if (bns.length === 0 || segs.length === 0) return;
  const rates = dropouts.map((d) => d.rate);
  const momenta = bns.map((b) => b.momentum);
  const order = shuffle(segs.slice(), rand);
  const n = Math.min(BN_RECALIBRATION_BATCHES, Math.floor(order.length / batchSize) || 1);
  try {
    dropouts.forEach((d) => {
      d.rate = 0;
    });
    for (let i = 0; i < n; i++) {
      // Momentum i/(i+1) turns the moving average into the plain mean of the n batches.
      bns.forEach((b) => {
        b.momentum = i / (i + 1);
      });
      const { x, y } = batchTensors(utts, order.slice(i * batchSize, (i + 1) * batchSize), norm, k);
      tf.tidy(() => {
        model.apply(x, { training: true });
      });
      tf.dispose([x, y]);
    }
  } finally {
    dropouts.forEach((d, i) => {
      d.rate = rates[i];
    });
    bns.forEach((b, i) => {
      b.momentum = momenta[i];
    });
  }
}

export function fmtSecs(s: number): string {
  if (!Number.isFinite(s)) return '?';
  s = Math.round(s);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${s}s`;
}
