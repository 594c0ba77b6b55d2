// How much int8 changes a model's decisions: the float32 model.onnx and model.int8.onnx of a
// model directory on every third labelled basic-4 utterance (Emo-DB anger/happiness/sadness/
// neutral and RAVDESS), one zero-padded window each, as the trainer pads short utterances.
//
//   npx tsx bench/int8-fidelity.ts models/basic-4
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { computeFeatures } from '../dsp/features.js';
import { FRAME_SIZE, WINDOW_FRAMES, WINDOW_SIZE } from '../dsp/types.js';
import { loadAudio16k } from '../dsp/load.js';
import { loadEngine } from '../inference/load-engine.js';

const DATA = fileURLToPath(new URL('../../../shared/data/', import.meta.url));

export async function int8Fidelity(
  dir: string,
): Promise<{ utterances: number; fp32Accuracy: number; int8Accuracy: number; sameTopClass: number; maxAbsDiff: number }> {
  const items: { path: string; label: string }[] = [];
  const emo: Record<string, string> = { W: 'angry', F: 'happy', T: 'sad', N: 'neutral' };
  for (const f of readdirSync(`${DATA}emodb/wav`).sort()) if (emo[f[5]]) items.push({ path: `${DATA}emodb/wav/${f}`, label: emo[f[5]] });
  const rav: Record<string, string> = { '01': 'neutral', '03': 'happy', '04': 'sad', '05': 'angry' };
  for (const a of readdirSync(`${DATA}ravdess/wav`).sort()) {
    for (const f of readdirSync(`${DATA}ravdess/wav/${a}`).sort()) {
      const label = rav[f.split('-')[2]];
      if (label) items.push({ path: `${DATA}ravdess/wav/${a}/${f}`, label });
    }
  }
  const pick = items.filter((_, i) => i % 3 === 0);
  const fp = await loadEngine(dir, { kind: 'onnx' });
  const q = await loadEngine(dir, { kind: 'onnx-int8' });
  let same = 0,
    okF = 0,
    okQ = 0,
    maxAbsDiff = 0;
  const top = (p: Float32Array) => p.indexOf(Math.max(...p));
  try {
    for (const it of pick) {
      const { frames, data } = computeFeatures(await loadAudio16k(it.path));
      const w = new Float32Array(WINDOW_SIZE);
      w.set(data.subarray(0, Math.min(frames, WINDOW_FRAMES) * FRAME_SIZE));
      const [[a], [b]] = await Promise.all([fp.infer([w]), q.infer([w])]);
      if (top(a) === top(b)) same++;
      if (fp.labels[top(a)] === it.label) okF++;
      if (q.labels[top(b)] === it.label) okQ++;
      for (let k = 0; k < a.length; k++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[k] - b[k]));
    }
  } finally {
    await Promise.all([fp.dispose(), q.dispose()]);
  }
  const n = pick.length;
  return { utterances: n, fp32Accuracy: okF / n, int8Accuracy: okQ / n, sameTopClass: same / n, maxAbsDiff };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await int8Fidelity(process.argv[2] ?? 'models/basic-4');
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  console.log(
    `${r.utterances} utterances: fp32 accuracy ${pct(r.fp32Accuracy)}, int8 ${pct(r.int8Accuracy)}, same top class ${pct(r.sameTopClass)}, max |Δposterior| ${r.maxAbsDiff.toFixed(3)}`,
  );
}
