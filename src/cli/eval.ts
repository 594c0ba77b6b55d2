// emostream eval: WA/UA, per-class recall and the confusion matrix of a saved model on a
// corpus (all of it, or one fold's test split), as text, JSON and SVG.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { numberFlag, parseCommandLine } from './args.js';
import { CliError } from './errors.js';
import { builtinCorpus, manifestCorpus, CORPORA, type CorpusName, type Corpus } from '../train/corpus.js';
import { makeFolds, PROTOCOLS, type Protocol } from '../train/protocols.js';

const HELP = `usage: emostream eval --model DIR (--corpus emodb|ravdess|basic4 | --data DIR) [options]

Evaluates at the utterance level (segment posteriors averaged per utterance). Utterances whose
label the model does not know are left out (and counted).

  --model DIR            model directory (e.g. models/basic-4)
  --corpus NAME | --data DIR | --data-root DIR | --corpora-root DIR   as for 'emostream train'
  --protocol P --folds N --fold I --seed S --val-fraction F
                         evaluate only fold I's test split (1-based) of that protocol, as
                         'emostream train' with the same options drew it
  --split test|val       that fold's test split (default) or its validation split; protocol
                         all has only the latter (--protocol all --split val: the utterances
                         a shipped model was selected on, never trained on)
  --out DIR              write metrics.json and confusion.svg there
  --json                 print the metrics as JSON

robustness (docs/results.md):
  --robustness           UA clean and under pink noise and babble at 20/10/5/0 dB SNR, gain
                         −10/−30/−45 dB and telephone bandwidth; --corpus may list several
                         (comma separated); writes robustness.json and robustness.svg to --out
  --limit N              at most N utterances per corpus (a seeded, label-stratified sample)
  --conditions LIST      instead of the default set: any of clean, telephone, pink:DB,
                         babble:DB, gain:DB, crop:SECONDS (the loudest SECONDS of each
                         utterance: short turns), zeros:SECONDS (that much digital silence
                         before and after: a muted microphone, a codec's DTX), comma
                         separated, e.g. clean,crop:1.5,crop:1
`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(
    argv,
    {
      model: { type: 'string' },
      corpus: { type: 'string' },
      data: { type: 'string' },
      'data-root': { type: 'string' },
      'corpora-root': { type: 'string' },
      protocol: { type: 'string' },
      folds: { type: 'string' },
      fold: { type: 'string' },
      split: { type: 'string' },
      seed: { type: 'string' },
      'val-fraction': { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
      robustness: { type: 'boolean' },
      limit: { type: 'string' },
      conditions: { type: 'string' },
    },
    HELP,
    false,
  );
  if (!parsed) return 0;
  const { values } = parsed;
  if (!values.model) throw new CliError('bad_argument', `--model is required\n\n${HELP}`, 2);
  if (!values.corpus === !values.data) throw new CliError('bad_argument', `give exactly one of --corpus or --data\n\n${HELP}`, 2);
  if (values.robustness) return robustness(values as RobustnessArgs);
  let corpus: Corpus;
  if (values.corpus) {
    if (!CORPORA.includes(values.corpus as CorpusName))
      throw new CliError('bad_argument', `--corpus must be one of ${CORPORA.join(', ')}`, 2);
    corpus = await builtinCorpus(values.corpus as CorpusName, {
      data: values['data-root'] ? resolve(values['data-root']) : undefined,
      corpora: values['corpora-root'] ? resolve(values['corpora-root']) : undefined,
    });
  } else corpus = await manifestCorpus(resolve(values.data as string));

  let utts = corpus.utterances;
  let scope = 'all utterances';
  // Protocol all has one fold: --split val alone names it.
  const fold = values.fold ?? (values.protocol === 'all' && values.split !== undefined ? '1' : undefined);
  if (values.split !== undefined && fold === undefined)
    throw new CliError('bad_argument', `--split needs --fold (and --protocol): which fold's split`, 2);
  if (fold !== undefined) {
    const protocol = (values.protocol ?? 'kfold') as Protocol;
    const split = values.split ?? 'test';
    if (split !== 'test' && split !== 'val') throw new CliError('bad_argument', `--split must be test or val, got '${split}'`, 2);
    if (!PROTOCOLS.includes(protocol)) throw new CliError('bad_argument', `--protocol must be one of ${PROTOCOLS.join(', ')}`, 2);
    if (protocol === 'all' && split === 'test')
      throw new CliError('bad_argument', `--protocol all has no test split: give --split val (its validation split)`, 2);
    const folds = makeFolds(protocol, utts, {
      folds: numberFlag('folds', values.folds, { integer: true, min: 2 }),
      seed: numberFlag('seed', values.seed, { integer: true, min: 0 }, 1),
      valFraction: numberFlag('val-fraction', values['val-fraction'], { min: 0, max: 0.49 }, 0.1),
    });
    const f = folds[numberFlag('fold', fold, { integer: true, min: 1 }, 1) - 1];
    if (!f) throw new CliError('bad_argument', `--fold must be 1…${folds.length}`, 2);
    if (f[split].length === 0)
      throw new CliError(
        'bad_argument',
        `${protocol} ${f.name} has no ${split === 'val' ? 'validation' : 'test'} split (--val-fraction 0?)`,
        2,
      );
    utts = f[split].map((i) => corpus.utterances[i]);
    scope = `${protocol} ${f.name} ${split === 'val' ? 'validation' : 'test'} split`;
  }

  const { initTf } = await import('../model/tf.js');
  const { loadModelDir } = await import('../model/save.js');
  const { loadFeatures } = await import('../train/run.js');
  const { evaluateUtterances } = await import('../train/trainer.js');
  const { formatMetrics } = await import('../train/metrics.js');
  const { confusionSvg } = await import('../train/confusion-svg.js');
  await initTf();
  const { model, meta } = await loadModelDir(resolve(values.model));
  const known = utts.filter((u) => meta.labels.includes(u.label));
  const skipped = utts.length - known.length;
  if (known.length === 0)
    throw new CliError('no_data', `none of the ${utts.length} utterances has a label the model knows (${meta.labels.join(', ')})`);
  const loaded = await loadFeatures({ name: corpus.name, labels: meta.labels, utterances: known }, false);
  const { metrics } = await evaluateUtterances(model, loaded, meta.norm, meta.labels);
  model.dispose();
  const report = { model: meta.name, corpus: corpus.name, scope, skipped, ...metrics };
  if (values.out) {
    await mkdir(values.out, { recursive: true });
    await writeFile(join(values.out, 'metrics.json'), JSON.stringify(report, null, 1) + '\n');
    await writeFile(join(values.out, 'confusion.svg'), confusionSvg(metrics, `${meta.name} on ${corpus.name} (${scope})`));
  }
  if (values.json) console.log(JSON.stringify(report));
  else
    console.log(
      `${meta.name} on ${corpus.name}, ${scope}${skipped ? ` (${skipped} utterances with other labels left out)` : ''}\n${formatMetrics(metrics)}`,
    );
  return 0;
}

interface RobustnessArgs {
  model: string;
  corpus?: string;
  data?: string;
  'data-root'?: string;
  'corpora-root'?: string;
  seed?: string;
  out?: string;
  json?: boolean;
  limit?: string;
  conditions?: string;
}

async function robustness(values: RobustnessArgs): Promise<number> {
  const { loadEngine } = await import('../inference/load-engine.js');
  const { evaluateRobustness, robustnessSvg, parseConditions, CONDITIONS } = await import('../train/robustness.js');
  let conditions = CONDITIONS;
  if (values.conditions !== undefined) {
    try {
      conditions = parseConditions(values.conditions);
    } catch (e) {
      throw new CliError('bad_argument', `--conditions: ${(e as Error).message}`, 2);
    }
    if (conditions.length === 0) throw new CliError('bad_argument', '--conditions: no condition given', 2);
  }
  const { shuffle, rng } = await import('../train/protocols.js');
  const roots = {
    data: values['data-root'] ? resolve(values['data-root']) : undefined,
    corpora: values['corpora-root'] ? resolve(values['corpora-root']) : undefined,
  };
  const names = values.corpus ? values.corpus.split(',').filter(Boolean) : [];
  for (const n of names)
    if (!CORPORA.includes(n as CorpusName)) throw new CliError('bad_argument', `--corpus: '${n}' is not one of ${CORPORA.join(', ')}`, 2);
  const corpora = values.data
    ? [await manifestCorpus(resolve(values.data))]
    : await Promise.all(names.map((n) => builtinCorpus(n as CorpusName, roots)));
  const limit = numberFlag('limit', values.limit, { integer: true, min: 1 }, Infinity);
  const seed = numberFlag('seed', values.seed, { integer: true, min: 0 }, 1);
  const engine = await loadEngine(resolve(values.model));
  const series: { name: string; corpus: string; n: number; rows: Awaited<ReturnType<typeof evaluateRobustness>> }[] = [];
  try {
    for (const c of corpora) {
      let utts = c.utterances.filter((u) => engine.labels.includes(u.label));
      if (utts.length > limit) {
        // Stratified: the same share of every label, drawn by the seed.
        const r = rng(seed);
        const byLabel = engine.labels.map((l) =>
          shuffle(
            utts.filter((u) => u.label === l),
            r,
          ),
        );
        utts = byLabel.flatMap((g) => g.slice(0, Math.round((g.length * limit) / utts.length)));
      }
      let last = 0;
      const rows = await evaluateRobustness(engine, utts, {
        seed,
        conditions,
        progress: (done, total) => {
          if (Date.now() - last > 5000 || done === total) {
            process.stderr.write(`${c.name}: ${done}/${total}\n`);
            last = Date.now();
          }
        },
      });
      series.push({ name: `${c.name} (n = ${utts.length})`, corpus: c.name, n: utts.length, rows });
    }
  } finally {
    await engine.dispose();
  }
  const report = {
    model: engine.model,
    backend: engine.backend,
    seed,
    series: series.map((s) => ({
      corpus: s.corpus,
      n: s.n,
      rows: s.rows.map((r) => ({
        condition: r.condition,
        wa: r.metrics.wa,
        ua: r.metrics.ua,
        minRecall: r.minRecall,
        recall: r.metrics.recall,
      })),
    })),
  };
  if (values.out) {
    await mkdir(values.out, { recursive: true });
    await writeFile(join(values.out, 'robustness.json'), JSON.stringify(report, null, 1) + '\n');
    await writeFile(join(values.out, 'robustness.svg'), robustnessSvg(series, `${engine.model}: UA by condition`));
  }
  if (values.json) console.log(JSON.stringify(report));
  else {
    const conds = series[0]?.rows.map((r) => r.condition) ?? [];
    console.log(`${engine.model}: UA % (lowest per-class recall %) by condition\n`);
    console.log(`| corpus | ${conds.join(' | ')} |\n|---|${conds.map(() => '---').join('|')}|`);
    for (const s of series) {
      console.log(
        `| ${s.name} | ${s.rows.map((r) => `${(100 * r.metrics.ua).toFixed(1)} (${(100 * r.minRecall).toFixed(0)})`).join(' | ')} |`,
      );
    }
  }
  return 0;
}
