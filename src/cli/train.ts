// emostream train: STA-CRNN on a corpus with a protocol (kfold, loso, all). docs/training.md.
import { resolve } from 'node:path';
import { numberFlag, parseCommandLine } from './args.js';
import { CliError } from './errors.js';
import {
  builtinCorpus,
  manifestCorpus,
  CORPORA,
  defaultCorporaRoot,
  defaultDataRoot,
  TEST_ONLY,
  type CorpusName,
  type Corpus,
} from '../train/corpus.js';
import { ROBUST_AUGMENT } from '../train/augment.js';
import { PROTOCOLS, type Protocol } from '../train/protocols.js';
import { PAPER_TRAINING } from '../train/trainer.js';
import { VARIANTS, PAPER_CONFIG, type Variant } from '../model/sta-crnn.js';

const HELP = `usage: emostream train (--corpus NAME | --data DIR) [options]

Trains STA-CRNN. Each fold's result goes to OUT/fold-NN/result.json as it finishes; re-running
the same command resumes (finished folds are skipped).

data:
  --corpus NAME          emodb (7 classes); 4 classes: ravdess, ravdess-song, nemo, ased,
                         basic4 (Emo-DB W/F/T/N + RAVDESS), train4 (all five); docs/data.md
  --data DIR             your corpus: DIR/manifest.csv (path,speaker,label) or manifest.jsonl
  --data-root DIR        where emodb/ and ravdess/ live (default ${defaultDataRoot()})
  --corpora-root DIR     where scripts/prepare-corpora.sh put ravdess-song/, nemo/, ased/, turev/
                         (default ${defaultCorporaRoot()})
  --extra-test NAMES     also test every fold's model on these corpora (comma separated; e.g. turev)
protocol:
  --protocol P           kfold | loso | loco (leave one corpus out) | all (default kfold)
  --folds N              kfold: number of folds (default 10); loso: speaker groups (default 1 speaker per fold)
  --only LIST            run only these folds (1-based, comma separated)
  --max-folds N          train at most N new folds in this invocation (0: only summarise finished folds)
  --val-fraction F       share of each training part kept for early stopping (default 0.1; loso: one speaker)
model:
  --variant V            ${VARIANTS.join(' | ')} (default sta-crnn)
  --ac N                 spatial-attention position AC1…AC7 (default 6)
  --width W              channel-width multiplier (default 1.0 = the paper)
  --dropout R            dropout rate after each conv block (default ${PAPER_CONFIG.dropout})
training:
  --recipe R             paper (default: the paper's features and data as they are) | robust
                         (per-window mean-normalised log-mel, augmentation each epoch, samples
                         balanced over corpus and class; docs/training.md)
  --short-turns P        robust recipe: also cut this share of samples (0…1) to 0.8–1.6 s around
                         a loud moment, as the one- or two-word turns a voice agent hears
  --init DIR             start from this trained model's weights and input statistics (fine-tune;
                         same architecture, labels and recipe features), e.g. with a lower --lr
  --epochs N             maximum epochs (default ${PAPER_TRAINING.epochs})
  --patience N           early-stopping patience in epochs on the validation loss (default ${PAPER_TRAINING.patience}; 0 = off)
  --batch-size N         (default ${PAPER_TRAINING.batchSize})
  --micro-batch N        split each batch into parts of N and sum their gradients, for memory
                         (default on WASM/cpu: 8 ÷ width, so 8 at the paper width; else whole batches)
  --workers N            threads sharing each batch (data parallel; default on WASM/cpu: the number
                         of cores, at most 8; else 1). Results depend slightly on N (BatchNorm
                         statistics are per share): give it to repeat a run exactly elsewhere
  --lr X                 Adam learning rate (default ${PAPER_TRAINING.lr})
  --weight-decay X       L2 weight decay (default ${PAPER_TRAINING.weightDecay})
  --seed N               seeds folds, initialisation, dropout and shuffling (default 1)
output:
  --out DIR              run directory (default runs/<corpus>-<protocol>)
  --model-out DIR        protocol all: write the trained model directory here (default OUT/model)
  --name NAME            model name recorded in meta.json
  --no-progress          no progress output on stderr
`;

function num(v: string | undefined, name: string, fallback: number, check: (x: number) => boolean = (x) => x > 0): number {
  if (v === undefined) return fallback;
  const x = numberFlag(name, v, {}, fallback);
  if (!check(x)) throw new CliError('bad_argument', `--${name}: invalid value '${v}'`, 2);
  return x;
}

const int = (x: number) => Number.isInteger(x) && x > 0;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(
    argv,
    {
      corpus: { type: 'string' },
      data: { type: 'string' },
      'data-root': { type: 'string' },
      'corpora-root': { type: 'string' },
      'extra-test': { type: 'string' },
      recipe: { type: 'string' },
      'short-turns': { type: 'string' },
      init: { type: 'string' },
      protocol: { type: 'string' },
      folds: { type: 'string' },
      only: { type: 'string' },
      'max-folds': { type: 'string' },
      'val-fraction': { type: 'string' },
      variant: { type: 'string' },
      ac: { type: 'string' },
      width: { type: 'string' },
      dropout: { type: 'string' },
      epochs: { type: 'string' },
      patience: { type: 'string' },
      'batch-size': { type: 'string' },
      'micro-batch': { type: 'string' },
      workers: { type: 'string' },
      lr: { type: 'string' },
      'weight-decay': { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      'model-out': { type: 'string' },
      name: { type: 'string' },
      'no-progress': { type: 'boolean' },
    },
    HELP,
    false,
  );
  if (!parsed) return 0;
  const { values } = parsed;
  if (!values.corpus === !values.data) throw new CliError('bad_argument', `give exactly one of --corpus or --data\n\n${HELP}`, 2);
  const protocol = (values.protocol ?? 'kfold') as Protocol;
  if (!PROTOCOLS.includes(protocol)) throw new CliError('bad_argument', `--protocol must be one of ${PROTOCOLS.join(', ')}`, 2);
  const variant = (values.variant ?? 'sta-crnn') as Variant;
  if (!VARIANTS.includes(variant)) throw new CliError('bad_argument', `--variant must be one of ${VARIANTS.join(', ')}`, 2);
  const recipe = values.recipe ?? 'paper';
  if (recipe !== 'paper' && recipe !== 'robust') throw new CliError('bad_argument', '--recipe must be paper or robust', 2);
  let shortTurns = {};
  if (values['short-turns'] !== undefined) {
    if (recipe !== 'robust') throw new CliError('bad_argument', '--short-turns is part of the robust recipe: add --recipe robust', 2);
    shortTurns = { pShort: num(values['short-turns'], 'short-turns', 0, (x) => x >= 0 && x <= 1), shortS: [0.8, 1.6] };
  }
  const roots = {
    data: values['data-root'] ? resolve(values['data-root']) : undefined,
    corpora: values['corpora-root'] ? resolve(values['corpora-root']) : undefined,
  };
  const corpusName = (name: string, flag: string): CorpusName => {
    if (!CORPORA.includes(name as CorpusName)) throw new CliError('bad_argument', `${flag} must be one of ${CORPORA.join(', ')}`, 2);
    return name as CorpusName;
  };
  let corpus: Corpus;
  if (values.corpus) {
    const name = corpusName(values.corpus, '--corpus');
    if (TEST_ONLY.includes(name)) {
      throw new CliError(
        'test_only_corpus',
        `${name} is reserved for evaluation (docs/data.md): use it with --extra-test or emostream eval`,
        2,
      );
    }
    corpus = await builtinCorpus(name, roots);
  } else {
    corpus = await manifestCorpus(resolve(values.data as string));
  }
  const out = resolve(values.out ?? `runs/${corpus.name}-${protocol}`);
  const only = values.only?.split(',').map((s) => {
    const n = /^\d+$/.test(s) ? Number(s) : NaN;
    if (!int(n)) throw new CliError('bad_argument', `--only: '${s}' is not a fold number`, 2);
    return n - 1;
  });
  const { runProtocol } = await import('../train/run.js');
  const { pooled } = await runProtocol({
    corpus,
    protocol,
    out,
    only,
    folds: values.folds === undefined ? undefined : num(values.folds, 'folds', 10, int),
    maxFolds:
      values['max-folds'] === undefined ? undefined : num(values['max-folds'], 'max-folds', 1, (x) => Number.isInteger(x) && x >= 0),
    valFraction: num(values['val-fraction'], 'val-fraction', 0.1, (x) => x >= 0 && x < 0.5),
    arch: {
      variant,
      attentionPosition: num(values.ac, 'ac', 6, (x) => Number.isInteger(x) && x >= 1 && x <= 7),
      width: num(values.width, 'width', 1, (x) => x > 0 && x <= 4),
      dropout: num(values.dropout, 'dropout', PAPER_CONFIG.dropout, (x) => x >= 0 && x < 1),
    },
    train: {
      epochs: num(values.epochs, 'epochs', PAPER_TRAINING.epochs, int),
      patience: num(values.patience, 'patience', PAPER_TRAINING.patience, (x) => Number.isInteger(x) && x >= 0),
      batchSize: num(values['batch-size'], 'batch-size', PAPER_TRAINING.batchSize, int),
      ...(values['micro-batch'] === undefined ? {} : { microBatch: num(values['micro-batch'], 'micro-batch', 0, int) }),
      ...(values.workers === undefined ? {} : { workers: num(values.workers, 'workers', 1, int) }),
      lr: num(values.lr, 'lr', PAPER_TRAINING.lr),
      weightDecay: num(values['weight-decay'], 'weight-decay', PAPER_TRAINING.weightDecay, (x) => x >= 0),
      seed: num(values.seed, 'seed', 1, (x) => Number.isInteger(x) && x >= 0),
      ...(recipe === 'robust' ? { augment: { ...ROBUST_AUGMENT, ...shortTurns }, balance: true } : {}),
    },
    modelOut: protocol === 'all' ? resolve(values['model-out'] ?? `${out}/model`) : values['model-out'],
    modelName: values.name,
    progress: !values['no-progress'],
    command: `emostream train ${argv.join(' ')}`,
    windowMean: recipe === 'robust',
    init: values.init ? resolve(values.init) : undefined,
    extraTests: await Promise.all(
      (values['extra-test']?.split(',').filter(Boolean) ?? []).map((n) => builtinCorpus(corpusName(n, '--extra-test'), roots)),
    ),
  });
  if (pooled) console.log(JSON.stringify({ wa: pooled.wa, ua: pooled.ua, n: pooled.n }));
  return 0;
}
