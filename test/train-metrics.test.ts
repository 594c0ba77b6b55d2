// WA/UA/confusion on hand-made cases, fold construction, segmentation and manifests.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeMetrics, poolMetrics, confusionMatrix, formatMetrics } from '../src/train/metrics.js';
import { confusionSvg } from '../src/train/confusion-svg.js';
import { makeFolds } from '../src/train/protocols.js';
import { segmentsOf, normStats, makeBatch, type LoadedUtterance } from '../src/train/dataset.js';
import { manifestCorpus, type Utterance } from '../src/train/corpus.js';
import { UserError } from '../src/errors.js';

const t = suite('train-metrics');

t('WA is accuracy, UA the mean per-class recall (they differ on imbalanced data)', () => {
  // 8 of class 0 (all right), 2 of class 1 (one right): WA 9/10, UA (1 + 0.5)/2.
  const m = computeMetrics([0, 0, 0, 0, 0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0, 0, 0, 1, 0], ['a', 'b']);
  assert.is(m.wa, 0.9);
  assert.is(m.ua, 0.75);
  assert.equal(m.recall, [1, 0.5]);
  assert.equal(m.confusion, [
    [8, 0],
    [1, 1],
  ]);
  assert.is(m.n, 10);
});

t('classes absent from the truth are left out of UA; the confusion is [true][pred]', () => {
  const m = computeMetrics([0, 0, 2], [1, 0, 2], ['a', 'b', 'c']);
  assert.equal(m.confusion, [
    [1, 1, 0],
    [0, 0, 0],
    [0, 0, 1],
  ]);
  assert.ok(Number.isNaN(m.recall[1]));
  assert.is(m.ua, (0.5 + 1) / 2);
  assert.throws(() => confusionMatrix([0, 3], [0, 0], 3), /out of range/);
  assert.match(formatMetrics(m), /WA 66\.7%  UA 75\.0%/);
});

t('pooling folds sums their confusion matrices', () => {
  const a = computeMetrics([0, 1], [0, 1], ['a', 'b']);
  const b = computeMetrics([0, 1, 1], [1, 1, 1], ['a', 'b']);
  const p = poolMetrics([a, b]);
  assert.equal(p.confusion, [
    [1, 1],
    [0, 3],
  ]);
  assert.is(p.wa, 4 / 5);
});

t('the SVG names every class and shows the counts', () => {
  const svg = confusionSvg(computeMetrics([0, 1, 1], [0, 1, 0], ['angry', 'sad & calm']), 'x<y');
  assert.ok(svg.startsWith('<svg'));
  assert.ok(svg.includes('angry') && svg.includes('sad &amp; calm') && svg.includes('x&lt;y'));
  assert.ok(svg.includes('>2<') === false && svg.includes('>1<'));
});

const fakeUtts = (): Utterance[] => {
  const out: Utterance[] = [];
  for (let s = 0; s < 5; s++)
    for (let i = 0; i < 12; i++) out.push({ path: `/x/${s}-${i}.wav`, speaker: `spk${s}`, label: ['a', 'b', 'c'][i % 3] });
  return out;
};

t('k-fold: test sets partition the data, stratified; val drawn from training only', () => {
  const utts = fakeUtts();
  const folds = makeFolds('kfold', utts, { folds: 4, seed: 3 });
  assert.is(folds.length, 4);
  const seen = new Set<number>();
  for (const f of folds) {
    for (const i of f.test) {
      assert.not.ok(seen.has(i));
      seen.add(i);
    }
    const all = [...f.train, ...f.val, ...f.test].sort((a, b) => a - b);
    assert.equal(
      all,
      utts.map((_, i) => i),
    );
    for (const l of ['a', 'b', 'c']) assert.is(f.test.filter((i) => utts[i].label === l).length, 5);
    assert.ok(f.val.length > 0);
  }
  assert.is(seen.size, utts.length);
  assert.equal(makeFolds('kfold', utts, { folds: 4, seed: 3 }), folds, 'deterministic for a seed');
});

t('LOSO: a fold holds out exactly its speaker(s); validation is another whole speaker', () => {
  const utts = fakeUtts();
  const folds = makeFolds('loso', utts, { seed: 1 });
  assert.is(folds.length, 5);
  for (const f of folds) {
    const testSpk = new Set(f.test.map((i) => utts[i].speaker));
    const trainSpk = new Set(f.train.map((i) => utts[i].speaker));
    const valSpk = new Set(f.val.map((i) => utts[i].speaker));
    assert.is(testSpk.size, 1);
    assert.is(valSpk.size, 1);
    for (const s of testSpk) assert.not.ok(trainSpk.has(s) || valSpk.has(s));
    for (const s of valSpk) assert.not.ok(trainSpk.has(s));
  }
  assert.is(makeFolds('loso', utts, { folds: 2 }).length, 2, 'speaker groups');
  assert.throws(
    () => makeFolds('loso', utts, { folds: 9 }),
    (e: unknown) => e instanceof UserError && e.code === 'bad_folds',
  );
  const all = makeFolds('all', utts, {});
  assert.is(all.length, 1);
  assert.is(all[0].test.length, 0);
  assert.is(all[0].train.length + all[0].val.length, utts.length);
});

function utt(frames: number, y = 0, value = (t: number, i: number) => t + i / 1000): LoadedUtterance {
  const data = new Float32Array(frames * 120);
  for (let t = 0; t < frames; t++) for (let i = 0; i < 120; i++) data[t * 120 + i] = value(t, i);
  return { path: '', speaker: '', label: '', y, features: { frames, data } };
}

t('segmentation: short → one padded window; long → 300-frame windows, hop 150, plus a tail', () => {
  const segs = segmentsOf([utt(120), utt(300), utt(520, 1)]);
  const by = (u: number) => segs.filter((s) => s.utt === u).map((s) => [s.startFrame, s.validFrames]);
  assert.equal(by(0), [[0, 120]]);
  assert.equal(by(1), [[0, 300]]);
  assert.equal(by(2), [
    [0, 300],
    [150, 300],
    [300, 220],
  ]);
  assert.ok(segs.filter((s) => s.utt === 2).every((s) => s.y === 1));
});

t('batches are z-scored with the given statistics; padding is raw zeros, normalised', () => {
  const us = [utt(2, 0, (t, i) => (t === 0 ? i : 3 * i))];
  const st = normStats(us);
  assert.ok(Math.abs(st.mean[10] - 20) < 1e-9 && Math.abs(st.std[10] - 10) < 1e-9);
  const { x, y } = makeBatch(us, segmentsOf(us), st.mean, st.std);
  assert.is(x.length, 36000);
  assert.is(y[0], 0);
  assert.ok(Math.abs(x[10] - -1) < 1e-6 && Math.abs(x[120 + 10] - 1) < 1e-6);
  assert.ok(Math.abs(x[240 + 10] - -2) < 1e-6, 'padded frame = (0 − mean)/std');
});

t('manifests (CSV and JSONL) list utterances; bad ones are refused with a code', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'emostream-manifest-'));
  try {
    await writeFile(join(dir, 'a.wav'), '');
    await writeFile(join(dir, 'manifest.csv'), 'path,speaker,label\na.wav,s1,happy\nb.wav,s2,sad\n');
    const c = await manifestCorpus(dir);
    assert.equal(c.labels, ['happy', 'sad']);
    assert.is(c.utterances[0].path, join(dir, 'a.wav'));
    assert.is(c.utterances[1].speaker, 's2');
    await writeFile(join(dir, 'manifest.jsonl'), '{"path":"a.wav","speaker":"s1","label":"x"}\nnot json\n');
    const err = await manifestCorpus(dir).catch((e) => e);
    assert.instance(err, UserError);
    assert.is(err.code, 'bad_manifest');
    assert.match(err.message, /:2: not valid JSON/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

t("BatchNorm re-estimation: moving stats = mean of the batches' statistics, dropout off, settings restored", async () => {
  const { initTf, tf } = await import('../src/model/tf.js');
  const { buildModel } = await import('../src/model/sta-crnn.js');
  const { recalibrateBatchNorm } = await import('../src/train/trainer.js');
  await initTf();
  const model = buildModel({ width: 0.0625, numClasses: 3, dropout: 0.5 });
  const us = [0, 1, 2, 3].map((i) => utt(300, i % 3, (t, j) => Math.sin(t * 0.1 + j + i) * (1 + (j % 3))));
  const st = normStats(us);
  const segs = segmentsOf(us);
  recalibrateBatchNorm(model, us, segs, st, 3, 2, () => 0.99); // rand ≈ 1: shuffle keeps the order
  const { x } = makeBatch(us, segs, st.mean, st.std);
  const conv1 = tf.model({ inputs: model.inputs, outputs: model.getLayer('conv1').output as import('@tensorflow/tfjs').SymbolicTensor });
  const out = conv1.predict(tf.tensor4d(x, [4, 300, 40, 3])) as import('@tensorflow/tfjs').Tensor;
  const m0 = tf.mean(out.slice([0], [2]), [0, 1, 2]),
    m1 = tf.mean(out.slice([2], [2]), [0, 1, 2]);
  const expected = tf.div(tf.add(m0, m1), 2).dataSync();
  const moving = model.getLayer('bn1').getWeights()[2].dataSync();
  expected.forEach((e, i) => assert.ok(Math.abs(e - moving[i]) < 1e-4, `channel ${i}: ${moving[i]} vs ${e}`));
  const d = model.getLayer('dropout1') as unknown as { rate: number };
  const b = model.getLayer('bn1') as unknown as { momentum: number };
  assert.is(d.rate, 0.5);
  assert.is(b.momentum, 0.9);
  model.dispose();
});

t.run();
