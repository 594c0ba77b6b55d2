// emostream eval: WA/UA, per-class recall and the confusion matrix of a saved model on a
// corpus (all of it, or one fold's test split), as text, JSON and SVG.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseCommandLine } from './args.js';
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
  --out DIR              write metrics.json and confusion.svg there
  --json                 print the metrics as JSON
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
      seed: { type: 'string' },
      'val-fraction': { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
    },
    HELP,
    false,
  );
  if (!parsed) return 0;
  const { values } = parsed;
  if (!values.model) throw new CliError('bad_argument', `--model is required\n\n${HELP}`, 2);
  if (!values.corpus === !values.data) throw new CliError('bad_argument', `give exactly one of --corpus or --data\n\n${HELP}`, 2);
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
  if (values.fold !== undefined) {
    const protocol = (values.protocol ?? 'kfold') as Protocol;
    if (!PROTOCOLS.includes(protocol) || protocol === 'all') throw new CliError('bad_argument', `--fold needs --protocol kfold or loso`, 2);
    const folds = makeFolds(protocol, utts, {
      folds: values.folds ? Number(values.folds) : undefined,
      seed: values.seed ? Number(values.seed) : 1,
      valFraction: values['val-fraction'] ? Number(values['val-fraction']) : 0.1,
    });
    const f = folds[Number(values.fold) - 1];
    if (!f) throw new CliError('bad_argument', `--fold must be 1…${folds.length}`, 2);
    utts = f.test.map((i) => corpus.utterances[i]);
    scope = `${protocol} ${f.name} test split`;
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
