// Running a protocol: folds one after another, each fold's result written to disk as it
// finishes (so a long run resumes where it stopped and a partial run still reports).
import { mkdir, readFile, rm, writeFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import os from 'node:os';
import { initTfTraining } from '../model/tf.js';
import { buildModel, resolveConfig, type StaCrnnConfig } from '../model/sta-crnn.js';
import { loadModelDir, saveModelDir } from '../model/save.js';
import type { Normalization } from '../dsp/normalize.js';
import { FEATURES, type ModelMeta } from '../model-dir.js';
import type { Corpus } from './corpus.js';
import { utteranceFeatures, defaultCacheDir } from './features-cache.js';
import { normStats, type LoadedUtterance } from './dataset.js';
import { makeFolds, type Fold, type Protocol } from './protocols.js';
import { evaluateUtterances, trainModel, fmtSecs, type TrainConfig, type TrainResult } from './trainer.js';
import { formatMetrics, poolMetrics, type Metrics } from './metrics.js';
import { confusionSvg } from './confusion-svg.js';
import { loadAudio16k } from '../dsp/load.js';
import { UserError } from '../errors.js';

/**
 * Samples per gradient computation when the user gave none. The tfjs WASM heap stops at 2 GB:
 * at the paper width a batch of 32 overflows it (measured) while 16 fits, and 8 trains
 * faster per sample than 16 (2.6 against 2.2 samples/s, measured); activation memory grows
 * with the width, so 8 ÷ width. Native backends take whole batches.
 */
export function defaultMicroBatch(backend: string, width: number): number | undefined {
  return isSingleThreadedTf(backend) ? Math.max(1, Math.floor(8 / width)) : undefined;
}

/** tfjs-wasm (under Node) and tfjs-cpu: one core, a bounded heap; native backends are neither. */
const isSingleThreadedTf = (backend: string) => backend.startsWith('tfjs-wasm') || backend === 'tfjs-cpu';

/**
 * Gradient threads when the user gave none: tfjs-wasm computes on one core under Node, so
 * the cores are used by splitting batches (parallel.ts); native backends thread by themselves.
 */
export function defaultWorkers(backend: string): number {
  return isSingleThreadedTf(backend) ? Math.max(1, Math.min(8, os.availableParallelism())) : 1;
}

/** JSON with sorted keys and no undefined members, for comparing records. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(
          Object.keys(x)
            .sort()
            .filter((k) => x[k] !== undefined)
            .map((k) => [k, x[k]]),
        )
      : x,
  );
}

/** Settings that change a fold's result: a resumed run must match them (memory and thread
 * settings aside: they move results only through per-share BatchNorm statistics, and each
 * fold's model records the values it was trained with). */
function runIdentity(r: {
  corpus: string;
  protocol: string;
  folds: number;
  valFraction: number;
  arch: unknown;
  train: TrainConfig;
  windowMean?: boolean;
  init?: string;
}) {
  const { microBatch: _memory, workers: _threads, ...train } = r.train;
  return {
    corpus: r.corpus,
    protocol: r.protocol,
    folds: r.folds,
    valFraction: r.valFraction,
    arch: r.arch,
    train,
    windowMean: r.windowMean,
    init: r.init,
  };
}

export interface RunOptions {
  corpus: Corpus;
  protocol: Protocol;
  folds?: number;
  valFraction: number;
  arch: Partial<StaCrnnConfig>;
  train: TrainConfig;
  out: string;
  /** For protocol "all": where the trained model directory goes. */
  modelOut?: string;
  modelName?: string;
  /** Run only these fold indices (0-based). */
  only?: number[];
  /** Stop after this many newly trained folds. */
  maxFolds?: number;
  progress: boolean;
  cacheDir?: string | null;
  /** The command line, recorded with the results. */
  command?: string;
  /** Mean-normalise each window's log-mel channel before z-scoring (src/dsp/normalize.ts). */
  windowMean?: boolean;
  /** Start every fold from this trained model directory's weights and input statistics (a
   *  fine-tune) instead of a fresh initialisation; its architecture, labels and features must match. */
  init?: string;
  /** Corpora every fold's model is also tested on (e.g. TurEV-DB), reported per fold. */
  extraTests?: Corpus[];
}

export interface FoldResult {
  fold: number;
  name: string;
  nTrain: number;
  nVal: number;
  nTest: number;
  bestEpoch: number;
  epochsRun: number;
  stoppedEarly: boolean;
  trainSeconds: number;
  trainSegments: number;
  test: Metrics | null;
  /** Results on the extra test corpora, by name. */
  extra?: Record<string, Metrics>;
  history: TrainResult['history'];
}

export function hardware(): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GB RAM`;
}

export async function loadFeatures(
  corpus: Corpus,
  progress: boolean,
  cacheDir: string | null = defaultCacheDir(),
  withSignals = false,
): Promise<LoadedUtterance[]> {
  const out: LoadedUtterance[] = [];
  const t0 = Date.now();
  let lastPrint = 0;
  for (const [i, u] of corpus.utterances.entries()) {
    const y = corpus.labels.indexOf(u.label);
    const loaded: LoadedUtterance = { ...u, y, features: await utteranceFeatures(u.path, cacheDir) };
    if (withSignals) loaded.signal = await loadAudio16k(u.path);
    out.push(loaded);
    if (progress && Date.now() - lastPrint > 2000) {
      process.stderr.write(`features ${i + 1}/${corpus.utterances.length}\n`);
      lastPrint = Date.now();
    }
  }
  if (progress) process.stderr.write(`features: ${out.length} utterances in ${fmtSecs((Date.now() - t0) / 1000)}\n`);
  return out;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

export async function runProtocol(o: RunOptions): Promise<{ results: FoldResult[]; pooled: Metrics | null; foldsTotal: number }> {
  const backend = await initTfTraining();
  await mkdir(o.out, { recursive: true });
  const arch = resolveConfig({ ...o.arch, numClasses: o.corpus.labels.length, seed: o.train.seed });
  const cacheDir = o.cacheDir === undefined ? defaultCacheDir() : o.cacheDir;
  const utts = await loadFeatures(o.corpus, o.progress, cacheDir, Boolean(o.train.augment));
  const extras = await Promise.all(
    (o.extraTests ?? []).map(async (c) => ({ corpus: c, utts: await loadFeatures(c, o.progress, cacheDir) })),
  );
  const folds = makeFolds(o.protocol, utts, { folds: o.folds, seed: o.train.seed, valFraction: o.valFraction });
  // A resumed or summarising invocation keeps the original run's record (and command).
  const runFile = join(o.out, 'run.json');
  const previous = (await exists(runFile))
    ? (JSON.parse(await readFile(runFile, 'utf8')) as Parameters<typeof runIdentity>[0] & { command?: string })
    : null;
  const command = previous?.command ?? o.command;
  const microBatch = o.train.microBatch ?? defaultMicroBatch(backend, arch.width);
  const workers = Math.min(o.train.workers ?? defaultWorkers(backend), o.train.batchSize);
  const train: TrainConfig = { ...o.train, microBatch: microBatch && microBatch < o.train.batchSize ? microBatch : undefined, workers };
  const record = {
    corpus: o.corpus.name,
    labels: o.corpus.labels,
    protocol: o.protocol,
    folds: folds.length,
    valFraction: o.valFraction,
    arch,
    train,
    windowMean: o.windowMean || undefined,
    init: o.init,
    extraTests: o.extraTests?.map((c) => c.name),
  };
  if (previous) {
    const [was, now] = [runIdentity(previous), runIdentity(record)];
    const differ = (Object.keys(now) as (keyof typeof now)[]).filter((k) => canonical(was[k]) !== canonical(now[k]));
    if (differ.length) {
      throw new UserError(
        'run_settings_differ',
        `${o.out} holds a run with other settings (${differ.join(', ')}); ` +
          `resume it with its own command (${previous.command ?? 'see run.json'}) or choose another --out`,
      );
    }
  } else {
    await writeFile(
      runFile,
      JSON.stringify({ ...record, backend, hardware: hardware(), command: o.command, started: new Date().toISOString() }, null, 1) + '\n',
    );
  }
  o = { ...o, train };
  const results: FoldResult[] = [];
  let trained = 0;
  for (const fold of folds) {
    if (o.only && !o.only.includes(fold.index)) continue;
    const dir = join(o.out, `fold-${String(fold.index + 1).padStart(2, '0')}`);
    const resultFile = join(dir, 'result.json');
    if (await exists(resultFile)) {
      results.push(JSON.parse(await readFile(resultFile, 'utf8')) as FoldResult);
      if (o.progress) process.stderr.write(`${fold.name}: already done (${resultFile})\n`);
      continue;
    }
    if (o.maxFolds !== undefined && trained >= o.maxFolds) break;
    results.push(await runFold(o, arch, utts, fold, folds.length, dir, backend, extras));
    trained++;
  }
  const tested = results.filter((r) => r.test);
  const pooled = tested.length ? poolMetrics(tested.map((r) => r.test as Metrics)) : null;
  const summary = {
    corpus: o.corpus.name,
    protocol: o.protocol,
    foldsTotal: folds.length,
    foldsDone: results.length,
    completedFolds: results.map((r) => r.fold + 1),
    pooled,
    meanWa: mean(tested.map((r) => r.test!.wa)),
    meanUa: mean(tested.map((r) => r.test!.ua)),
    width: arch.width,
    variant: arch.variant,
    attentionPosition: arch.attentionPosition,
    epochsRun: results.map((r) => r.epochsRun),
    bestEpochs: results.map((r) => r.bestEpoch),
    trainSeconds: results.reduce((a, r) => a + r.trainSeconds, 0),
    backend,
    hardware: hardware(),
    command,
  };
  await writeFile(join(o.out, 'summary.json'), JSON.stringify(summary, null, 1) + '\n');
  if (pooled) {
    await writeFile(
      join(o.out, 'confusion.svg'),
      confusionSvg(pooled, `${o.corpus.name} ${o.protocol} (${results.length}/${folds.length} folds, pooled)`),
    );
    if (o.progress)
      process.stderr.write(
        `\n${o.corpus.name} ${o.protocol}: ${results.length}/${folds.length} folds, pooled over their test sets:\n${formatMetrics(pooled)}\n`,
      );
  }
  return { results, pooled, foldsTotal: folds.length };
}

/** Copy a trained model's weights into `model` and return its input statistics (a fine-tune
 *  starts from both), after checking it is the same network on the same labels and features. */
async function initFrom(model: ReturnType<typeof buildModel>, dir: string, arch: StaCrnnConfig, o: RunOptions): Promise<Normalization> {
  const { model: from, meta } = await loadModelDir(resolve(dir));
  try {
    const { seed: _a, ...want } = arch;
    const { seed: _b, ...have } = meta.arch;
    const why =
      canonical(want) !== canonical(have)
        ? `its architecture differs (${canonical(have)})`
        : canonical(meta.labels) !== canonical(o.corpus.labels)
          ? `its labels are ${meta.labels.join(', ')}, the corpus has ${o.corpus.labels.join(', ')}`
          : Boolean(meta.norm.windowMean) !== Boolean(o.windowMean)
            ? `it was trained with${meta.norm.windowMean ? '' : 'out'} per-window mean normalisation (use the same --recipe)`
            : null;
    if (why) throw new UserError('init_mismatch', `--init ${dir}: ${why}`);
    model.setWeights(from.getWeights());
    return meta.norm;
  } finally {
    from.dispose();
  }
}

function mean(xs: number[]): number | null {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

async function runFold(
  o: RunOptions,
  arch: StaCrnnConfig,
  utts: LoadedUtterance[],
  fold: Fold,
  total: number,
  dir: string,
  backend: string,
  extras: { corpus: Corpus; utts: LoadedUtterance[] }[] = [],
): Promise<FoldResult> {
  await mkdir(dir, { recursive: true });
  const pick = (idx: number[]) => idx.map((i) => utts[i]);
  const train = pick(fold.train),
    val = pick(fold.val),
    test = pick(fold.test);
  const model = buildModel(arch);
  const norm = o.init ? await initFrom(model, o.init, arch, o) : normStats(train, o.windowMean);
  const label = total > 1 ? `[${fold.name}]` : '';
  if (o.progress)
    process.stderr.write(`${fold.name}: ${train.length} train / ${val.length} val / ${test.length} test utterances, backend ${backend}\n`);
  const log: string[] = [];
  const resumeDir = join(dir, 'resume');
  const res = await trainModel(model, train, val, norm, o.corpus.labels, o.train, {
    progress: o.progress,
    label,
    resumeDir,
    onResume: (done) => {
      log.push(...done.map((e) => JSON.stringify(e))); // history.jsonl keeps the epochs before the resume
    },
    onEpoch: async (e, improved) => {
      log.push(JSON.stringify(e));
      await writeFile(join(dir, 'history.jsonl'), log.join('\n') + '\n');
      // Checkpoint: the best model so far, usable (eval/analyze/serve) even if the run dies.
      if (improved) {
        await saveModelDir(join(dir, 'checkpoint'), model, {
          name: `${o.corpus.name}-${o.protocol}-fold${fold.index + 1}-checkpoint`,
          labels: o.corpus.labels,
          arch,
          features: FEATURES,
          norm,
          training: { checkpoint: true, epoch: e.epoch, valLoss: e.valLoss, valWa: e.valWa, valUa: e.valUa, command: o.command },
        });
      }
    },
  });
  const meta: ModelMeta = {
    name: o.modelName ?? `${o.corpus.name}-${o.protocol}-fold${fold.index + 1}`,
    labels: o.corpus.labels,
    arch,
    features: FEATURES,
    norm,
    training: {
      corpus: o.corpus.name,
      protocol: o.protocol,
      fold: fold.name,
      nTrain: train.length,
      nVal: val.length,
      epochsRun: res.history.length,
      bestEpoch: res.bestEpoch,
      stoppedEarly: res.stoppedEarly,
      trainSeconds: Math.round(res.trainSeconds),
      config: o.train,
      backend,
      hardware: hardware(),
      command: o.command,
      date: new Date().toISOString(),
    },
  };
  // The fold's trained model is kept (small) so eval can be re-run on it.
  await saveModelDir(join(dir, 'model'), model, meta);
  let testMetrics: Metrics | null = null;
  if (test.length) {
    testMetrics = (await evaluateUtterances(model, test, norm, o.corpus.labels)).metrics;
    await writeFile(join(dir, 'confusion.svg'), confusionSvg(testMetrics, `${o.corpus.name} ${o.protocol} ${fold.name}`));
    if (o.progress) process.stderr.write(`${fold.name} test: ${formatMetrics(testMetrics).split('\n')[0]}\n`);
  }
  const extra: Record<string, Metrics> = {};
  for (const e of extras) {
    const labels = o.corpus.labels;
    const usable = e.utts.filter((u) => labels.includes(u.label)).map((u) => ({ ...u, y: labels.indexOf(u.label) }));
    extra[e.corpus.name] = (await evaluateUtterances(model, usable, norm, labels)).metrics;
    if (o.progress) process.stderr.write(`${fold.name} on ${e.corpus.name}: ${formatMetrics(extra[e.corpus.name]).split('\n')[0]}\n`);
  }
  if (o.protocol === 'all' && o.modelOut) {
    await saveModelDir(resolve(o.modelOut), model, meta);
    if (o.progress) process.stderr.write(`model written to ${o.modelOut}\n`);
  }
  model.dispose();
  const result: FoldResult = {
    fold: fold.index,
    name: fold.name,
    nTrain: train.length,
    nVal: val.length,
    nTest: test.length,
    bestEpoch: res.bestEpoch,
    epochsRun: res.history.length,
    stoppedEarly: res.stoppedEarly,
    trainSeconds: res.trainSeconds,
    trainSegments: res.trainSegments,
    test: testMetrics,
    ...(extras.length ? { extra } : {}),
    history: res.history,
  };
  await writeFile(join(dir, 'result.json'), JSON.stringify(result, null, 1) + '\n');
  await rm(resumeDir, { recursive: true, force: true }); // the fold is done: its result stands
  return result;
}
