// One robustness plot from several `emostream eval --robustness` runs: each run's first series
// (a model on its test set) becomes a line, named on the command line. Used for the
// leave-one-corpus-out plot, where each fold has its own model and test set.
//
//   node --import tsx scripts/robustness-plot.ts --title TITLE --out FILE.svg NAME=DIR/robustness.json...
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { robustnessSvg, type RobustnessRow } from '../src/train/robustness.js';

interface Saved {
  series: { corpus: string; n: number; rows: { condition: string; minRecall: number; wa: number; ua: number; recall: number[] }[] }[];
}

const { values, positionals } = parseArgs({
  options: { title: { type: 'string' }, out: { type: 'string' } },
  allowPositionals: true,
});
if (!values.out || positionals.length === 0) {
  console.error('usage: robustness-plot.ts --title TITLE --out FILE.svg NAME=robustness.json...');
  process.exit(2);
}
const series = positionals.map((arg) => {
  const eq = arg.indexOf('=');
  const [name, path] = [arg.slice(0, eq), arg.slice(eq + 1)];
  const saved = JSON.parse(readFileSync(path, 'utf8')) as Saved;
  const s = saved.series[0];
  // The plot draws UA; robustness.json keeps no confusion matrices.
  const rows: RobustnessRow[] = s.rows.map(({ condition, minRecall, wa, ua, recall }) => ({
    condition,
    minRecall,
    metrics: { labels: [], n: s.n, wa, ua, recall, confusion: [] },
  }));
  return { name: `${name} (n = ${s.n})`, rows };
});
writeFileSync(values.out, robustnessSvg(series, values.title ?? 'UA by condition'));
