// Markdown for docs/results.md from finished run directories: one row per run (pooled WA/UA,
// per-fold mean, which folds finished, epochs, training time) and each run's per-fold list
// and pooled confusion matrix, so the published figures are copied from the runs, not typed.
//
//   node --import tsx src/train/results-table.ts runs/emodb-kfold-w0125 runs/emodb-loso-w0125 …
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { formatMetrics, pct, poolMetrics, type Metrics } from './metrics.js';
import type { FoldResult } from './run.js';
import { fmtSecs } from './trainer.js';

interface RunRecord {
  corpus: string;
  protocol: string;
  folds: number;
  arch: { width: number; variant: string };
  train: { epochs: number; patience: number };
  command: string;
}

async function foldResults(dir: string): Promise<FoldResult[]> {
  const out: FoldResult[] = [];
  for (const d of (await readdir(dir)).filter((n) => /^fold-\d+$/.test(n)).sort()) {
    try {
      out.push(JSON.parse(await readFile(join(dir, d, 'result.json'), 'utf8')) as FoldResult);
    } catch {
      /* unfinished fold */
    }
  }
  return out;
}

const rows: string[] = [];
const details: string[] = [];
for (const dir of process.argv.slice(2)) {
  const run = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')) as RunRecord;
  const folds = (await foldResults(dir)).filter((f) => f.test);
  if (!folds.length) {
    rows.push(`| ${run.corpus} | ${run.protocol} (${run.folds} folds) | no fold finished | 0 / ${run.folds} | \`${run.command}\` |`);
    continue;
  }
  const pooled = poolMetrics(folds.map((f) => f.test as Metrics));
  const mean = (k: 'wa' | 'ua') => folds.reduce((a, f) => a + (f.test as Metrics)[k], 0) / folds.length;
  const secs = folds.reduce((a, f) => a + f.trainSeconds, 0);
  rows.push(
    `| ${run.corpus} | ${run.protocol} (${run.folds} folds) | ${pct(pooled.wa)} / ${pct(pooled.ua)} (pooled, n = ${pooled.n}; per-fold mean ${pct(mean('wa'))} / ${pct(mean('ua'))}) | ` +
      `${folds.length} / ${run.folds} (${folds.length === run.folds ? 'all' : folds.map((f) => f.fold + 1).join(', ')}) | width ${run.arch.width}, ≤ ${run.train.epochs} epochs (patience ${run.train.patience}), ${fmtSecs(secs)} of training | \`${run.command}\` |`,
  );
  details.push(
    `${run.corpus} ${run.protocol}, finished folds: ` +
      folds
        .map(
          (f) =>
            `${f.name}: WA ${pct((f.test as Metrics).wa)} / UA ${pct((f.test as Metrics).ua)} (n = ${(f.test as Metrics).n}, ${f.epochsRun} epochs, best ${f.bestEpoch}, ${fmtSecs(f.trainSeconds)})`,
        )
        .join('; ') +
      `. Pooled confusion matrix:\n\n\`\`\`\n${formatMetrics(pooled)}\n\`\`\`\n`,
  );
}
console.log('| corpus | protocol | ours WA / UA | folds finished | settings | command |\n|---|---|---|---|---|---|');
console.log(rows.join('\n'));
console.log('\n' + details.join('\n'));
