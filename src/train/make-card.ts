// Writes a shipped model's card.md from what was measured: its meta.json (training record),
// the run's history, the held-out validation split re-scored now, and optional CV summaries.
//
//   node --import tsx src/train/make-card.ts --model models/basic-4 --run runs/basic4-all \
//     [--cv runs/emodb-kfold …] [--intro "text"] [--licence "text"] [--speed "text"] [--extra "markdown"]
import { parseArgs } from 'node:util';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { initTf } from '../model/tf.js';
import { loadModelDir } from '../model/save.js';
import { buildModel } from '../model/sta-crnn.js';
import { builtinCorpus, type CorpusName } from './corpus.js';
import { makeFolds } from './protocols.js';
import { loadFeatures } from './run.js';
import { evaluateUtterances, fmtSecs } from './trainer.js';
import { formatMetrics, pct } from './metrics.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    run: { type: 'string' },
    cv: { type: 'string', multiple: true, default: [] },
    intro: { type: 'string', default: '' },
    licence: { type: 'string', default: '' },
    speed: { type: 'string', default: '' },
    // Markdown appended to Results: figures kept from earlier runs whose run directories are gone.
    extra: { type: 'string', default: '' },
  },
});
const modelDir = resolve(values.model as string);
const runDir = resolve(values.run as string);
await initTf();
const { model, meta } = await loadModelDir(modelDir);
const run = JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8'));
const recorded = meta.training as Record<string, unknown> & { config?: Record<string, number> };
const corpus = await builtinCorpus(run.corpus as CorpusName);
const fold = makeFolds('all', corpus.utterances, { seed: run.train.seed, valFraction: run.valFraction })[0];
const val = await loadFeatures({ ...corpus, utterances: fold.val.map((i) => corpus.utterances[i]) }, false);
const { metrics } = await evaluateUtterances(model, val, meta.norm, meta.labels);
const params = buildModel(meta.arch).countParams();
const history = (await readFile(join(runDir, 'fold-01', 'history.jsonl'), 'utf8'))
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));
// A checkpoint (the best model so far of a run still going) records less than a finished
// model: the rest comes from the run's record and history, and the card says which it is.
const checkpoint = recorded.checkpoint === true;
const t: Record<string, unknown> & { config: Record<string, number> } = checkpoint
  ? {
      command: recorded.command,
      nTrain: fold.train.length,
      nVal: fold.val.length,
      epochsRun: history.length,
      bestEpoch: recorded.epoch,
      stoppedEarly: false,
      trainSeconds: history.reduce((a: number, h: { seconds: number }) => a + h.seconds, 0),
      config: run.train as Record<string, number>,
      hardware: run.hardware,
      backend: run.backend,
      date: (await stat(join(modelDir, 'weights.bin'))).mtime.toISOString(),
    }
  : (recorded as typeof recorded & { config: Record<string, number> });
const sps = history.reduce((a: number, h: { samplesPerSec: number }) => a + h.samplesPerSec, 0) / history.length;

const cvRows: string[] = [];
for (const cv of values.cv as string[]) {
  const s = JSON.parse(await readFile(join(resolve(cv), 'summary.json'), 'utf8'));
  const r = JSON.parse(await readFile(join(resolve(cv), 'run.json'), 'utf8'));
  cvRows.push(
    `| ${s.corpus} | ${s.protocol}${r.folds ? ` (${r.folds} folds)` : ''} | ${s.foldsDone}/${s.foldsTotal} (${s.completedFolds.join(', ')}) | ${s.pooled ? pct(s.pooled.wa) : 'n/a'} | ${s.pooled ? pct(s.pooled.ua) : 'n/a'} | \`${s.command}\` |`,
  );
}

const card = `# ${meta.name}

${values.intro}

- Labels (posterior order): ${meta.labels.map((l) => `\`${l}\``).join(', ')}
- Architecture: STA-CRNN (\`${meta.arch.variant}\`, spatial attention AC${meta.arch.attentionPosition}), **width ${meta.arch.width}** of the paper's
  (conv channels ${meta.arch.convChannels.map((c) => Math.max(1, Math.round(c * meta.arch.width))).join('/')}, BiLSTM ${Math.max(1, Math.round(meta.arch.lstmUnits * meta.arch.width))} units each way), ${params.toLocaleString('en')} parameters
  (the paper's width 1.0 has 4,357,098). Input: 300 × 40 × 3 Log-Mel/Δ/ΔΔ windows, z-scored with the
  training set's statistics stored in \`meta.json\`.

## Data and licence

${values.licence}

## Training

- Command: \`${t.command}\`
- Protocol \`all\`: ${t.nTrain} utterances for training, ${t.nVal} (10 %, stratified by label) held out for early stopping.
- Adam lr ${t.config.lr}, weight decay ${t.config.weightDecay}, batch ${t.config.batchSize}, cross-entropy, dropout ${meta.arch.dropout};
  ${t.epochsRun} epochs run (cap ${t.config.epochs}), best validation loss at epoch ${t.bestEpoch}${t.stoppedEarly ? ` (early stopping, patience ${t.config.patience})` : ''}; seed ${t.config.seed}.${checkpoint ? `\n  **This is the run's checkpoint** (its best model after ${t.epochsRun} of at most ${t.config.epochs} epochs), taken while the run was still going.` : ''}
- Training time ${fmtSecs(Number(t.trainSeconds))} (mean ${sps.toFixed(1)} training samples/s) on ${t.hardware}, backend ${t.backend},
  a machine shared with other jobs. Trained ${String(t.date).slice(0, 16).replace('T', ' ')} UTC.

## Results

Held-out validation split (${metrics.n} utterances; the same speakers as training, and the split
early stopping used, so this is optimistic; protocol (cross-validation) figures are the real measure):

\`\`\`
${formatMetrics(metrics)}
\`\`\`

${
  cvRows.length
    ? `Cross-validation runs with the same width and training settings; the corpus column says what each trained and tested on (docs/results.md has the full table):

| corpus | protocol | folds finished | WA | UA | command |
|---|---|---|---|---|---|
${cvRows.join('\n')}
`
    : 'No cross-validation run of this configuration finished in the session (see docs/results.md).'
}

${values.extra}

## Width and speed

${values.speed}
`;
await writeFile(join(modelDir, 'card.md'), card.replace(/\n{3,}/g, '\n\n'));
console.log(`wrote ${join(modelDir, 'card.md')}: validation WA ${pct(metrics.wa)} UA ${pct(metrics.ua)}`);
model.dispose();
