// Classification metrics as the SER literature reports them: WA = overall accuracy
// (weighted by class frequency), UA = mean per-class recall (unweighted).

export interface Metrics {
  labels: string[];
  n: number;
  wa: number;
  ua: number;
  /** Recall per class, in label order (NaN for a class with no examples). */
  recall: number[];
  /** confusion[true][predicted] counts. */
  confusion: number[][];
}

export function confusionMatrix(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, k: number): number[][] {
  if (yTrue.length !== yPred.length) throw new RangeError(`yTrue has ${yTrue.length} entries, yPred ${yPred.length}`);
  const m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i],
      p = yPred[i];
    if (!(t >= 0 && t < k && p >= 0 && p < k))
      throw new RangeError(`class index out of range at ${i}: true ${t}, predicted ${p} (k = ${k})`);
    m[t][p]++;
  }
  return m;
}

export function metricsFromConfusion(confusion: number[][], labels: string[]): Metrics {
  const k = labels.length;
  let correct = 0,
    n = 0;
  const recall: number[] = [];
  for (let t = 0; t < k; t++) {
    const row = confusion[t].reduce((a, b) => a + b, 0);
    n += row;
    correct += confusion[t][t];
    recall.push(row ? confusion[t][t] / row : NaN);
  }
  const present = recall.filter((r) => !Number.isNaN(r));
  return {
    labels,
    n,
    confusion,
    wa: n ? correct / n : NaN,
    ua: present.length ? present.reduce((a, b) => a + b, 0) / present.length : NaN,
    recall,
  };
}

export function computeMetrics(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, labels: string[]): Metrics {
  return metricsFromConfusion(confusionMatrix(yTrue, yPred, labels.length), labels);
}

/** Sum confusion matrices (e.g. over folds) and recompute the metrics. */
export function poolMetrics(parts: readonly Metrics[]): Metrics {
  const labels = parts[0].labels;
  const k = labels.length;
  const m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (const p of parts) for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) m[i][j] += p.confusion[i][j];
  return metricsFromConfusion(m, labels);
}

export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

export function pct(x: number): string {
  return Number.isNaN(x) ? 'n/a' : `${(100 * x).toFixed(1)}%`;
}

export function formatMetrics(m: Metrics): string {
  const w = Math.max(7, ...m.labels.map((l) => l.length));
  const lines = [
    `WA ${pct(m.wa)}  UA ${pct(m.ua)}  (n = ${m.n})`,
    '',
    `${'true \\ pred'.padEnd(w + 2)}${m.labels.map((l) => l.slice(0, 7).padStart(8)).join('')}  recall`,
  ];
  m.labels.forEach((l, i) =>
    lines.push(`${l.padEnd(w + 2)}${m.confusion[i].map((c) => String(c).padStart(8)).join('')}  ${pct(m.recall[i])}`),
  );
  return lines.join('\n');
}
