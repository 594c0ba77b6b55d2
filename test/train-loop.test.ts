// Training on real Emo-DB audio: a tiny model's loss goes down in a few steps, and the
// train → eval → analyze commands work end to end on a small manifest corpus.
import { suite } from 'uvu';
import { dataTest } from './helpers/shared-data.js';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { initTfTraining, tf } from '../src/model/tf.js';
import { buildModel } from '../src/model/sta-crnn.js';
import { trainModel } from '../src/train/trainer.js';
import { normStats, type LoadedUtterance } from '../src/train/dataset.js';
import { utteranceFeatures } from '../src/train/features-cache.js';
import { EMODB_LABELS } from '../src/train/corpus.js';

const t = suite('train-loop');
const repo = fileURLToPath(new URL('..', import.meta.url));
const wavDir = fileURLToPath(new URL('../../shared/data/emodb/wav', import.meta.url));
const run = promisify(execFile);

// One file per emotion from two speakers (14 files), picked by name so the set is stable.
function pickFiles(): string[] {
  const names = readdirSync(wavDir)
    .filter((f) => f.endsWith('.wav'))
    .sort();
  const out: string[] = [];
  for (const spk of ['03', '08'])
    for (const code of Object.keys(EMODB_LABELS)) {
      const f = names.find((n) => n.startsWith(spk) && n[5] === code);
      if (f) out.push(f);
    }
  return out;
}

const labels = ['angry', 'bored', 'disgust', 'fear', 'happy', 'sad', 'neutral'];

/** The first n picked files with their features, as the trainer takes them. */
async function loadPicked(n: number): Promise<LoadedUtterance[]> {
  const utts: LoadedUtterance[] = [];
  for (const f of pickFiles().slice(0, n)) {
    const label = EMODB_LABELS[f[5]];
    utts.push({
      path: join(wavDir, f),
      speaker: f.slice(0, 2),
      label,
      y: labels.indexOf(label),
      features: await utteranceFeatures(join(wavDir, f), null),
    });
  }
  return utts;
}

dataTest(t, 'a tiny STA-CRNN lowers its training loss within a few epochs on real audio', [wavDir], async () => {
  await initTfTraining();
  const utts = await loadPicked(7);
  assert.is(utts.length, 7);
  const model = buildModel({ width: 0.0625, numClasses: 7, dropout: 0, seed: 2 });
  const res = await trainModel(
    model,
    utts,
    [],
    normStats(utts),
    labels,
    { epochs: 8, batchSize: 8, lr: 3e-3, weightDecay: 5e-4, patience: 0, seed: 2 },
    { progress: false },
  );
  const losses = res.history.map((h) => h.loss);
  assert.is(losses.length, 8);
  assert.ok(losses.every(Number.isFinite));
  assert.ok(losses[7] < 0.9 * losses[0], `loss went ${losses.map((l) => l.toFixed(3)).join(' → ')}`);
  model.dispose();
});

dataTest(
  t,
  "micro-batches and worker threads sum to the whole batch's gradient (a model without BatchNorm trains identically)",
  [wavDir],
  async () => {
    await initTfTraining();
    const utts = await loadPicked(8);
    const train = async (microBatch?: number, workers?: number) => {
      const input = tf.input({ shape: [300, 40, 3] });
      const pooled = tf.layers.globalAveragePooling2d({}).apply(input) as tf.SymbolicTensor;
      const out = tf.layers
        .dense({ units: 7, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) })
        .apply(pooled) as tf.SymbolicTensor;
      const model = tf.model({ inputs: input, outputs: out });
      const res = await trainModel(
        model,
        utts,
        [],
        normStats(utts),
        labels,
        { epochs: 3, batchSize: 8, lr: 1e-2, weightDecay: 5e-4, patience: 0, seed: 3, microBatch, workers },
        { progress: false },
      );
      const w = model.getWeights().map((x) => Array.from(x.dataSync()));
      model.dispose();
      return { w, loss: res.history.map((h) => h.loss) };
    };
    const whole = await train();
    // Parts of 3, 3 and 2; three threads with shares of 3, 3 and 2; two threads with micro-batches.
    for (const [name, other] of [
      ['micro-batch 3', await train(3)],
      ['3 threads', await train(undefined, 3)],
      ['2 threads × micro 3', await train(3, 2)],
    ] as const) {
      const diff = Math.max(...whole.w.flatMap((a, i) => a.map((v, j) => Math.abs(v - other.w[i][j]))));
      assert.ok(diff < 1e-5, `${name}: weights differ by ${diff}`);
      whole.loss.forEach((l, i) => assert.ok(Math.abs(l - other.loss[i]) < 1e-5, `${name}: epoch ${i + 1} loss ${l} vs ${other.loss[i]}`));
    }
  },
);

dataTest(t, 'emostream train / eval / analyze on a manifest corpus', [wavDir], async () => {
  const dir = await mkdtemp(join(tmpdir(), 'emostream-train-'));
  try {
    const files = pickFiles();
    await writeFile(
      join(dir, 'manifest.csv'),
      'path,speaker,label\n' + files.map((f) => `${join(wavDir, f)},${f.slice(0, 2)},${EMODB_LABELS[f[5]]}`).join('\n') + '\n',
    );
    const cli = (args: string[]) =>
      run(process.execPath, ['--import', 'tsx', join(repo, 'src/cli/main.ts'), ...args], {
        cwd: repo,
        env: { ...process.env, EMOSTREAM_DEBUG: '' },
      });
    const out = join(dir, 'run');
    // A 2-fold run of one epoch at a tiny width: the same experiment unless the width differs.
    const trainArgs = (width: string) => [
      'train',
      '--data',
      dir,
      '--protocol',
      'kfold',
      '--folds',
      '2',
      '--width',
      width,
      '--epochs',
      '1',
      '--batch-size',
      '8',
      '--out',
      out,
    ];
    const train = await cli([...trainArgs('0.0625'), '--no-progress']);
    const pooled = JSON.parse(train.stdout.trim().split('\n').pop() as string);
    assert.ok(pooled.wa >= 0 && pooled.wa <= 1 && pooled.n === files.length);
    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));
    assert.equal(summary.completedFolds, [1, 2]);
    assert.ok(existsSync(join(out, 'fold-01', 'result.json')) && existsSync(join(out, 'confusion.svg')));
    assert.ok(existsSync(join(out, 'fold-01', 'checkpoint', 'model.json')), 'best-so-far checkpoint');
    // Re-running resumes: both folds are already done, nothing is retrained.
    const again = await cli(trainArgs('0.0625'));
    assert.match(again.stderr, /already done/);
    // …but not with other settings, which would mix two experiments in one result.
    const other = await cli(trainArgs('0.125')).then(
      () => null,
      (e) => e,
    );
    assert.is(other?.code, 1);
    assert.match(other.stderr, /error \[run_settings_differ\]: .* other settings \(arch\)/);

    const model = join(out, 'fold-01', 'model');
    const ev = await cli([
      'eval',
      '--model',
      model,
      '--data',
      dir,
      '--protocol',
      'kfold',
      '--folds',
      '2',
      '--fold',
      '1',
      '--json',
      '--out',
      join(dir, 'ev'),
    ]);
    const m = JSON.parse(ev.stdout);
    assert.is(m.n, JSON.parse(await readFile(join(out, 'fold-01', 'result.json'), 'utf8')).test.n);
    assert.ok(existsSync(join(dir, 'ev', 'confusion.svg')));
    // The fold's validation split: the utterances the trainer selected the epoch on.
    const evVal = async (extra: string[]) => JSON.parse((await cli(['eval', '--model', model, '--data', dir, '--json', ...extra])).stdout);
    const val = await evVal(['--protocol', 'kfold', '--folds', '2', '--fold', '1', '--split', 'val']);
    const rec = JSON.parse(await readFile(join(out, 'fold-01', 'result.json'), 'utf8'));
    assert.is(val.n, rec.nVal);
    assert.is(val.scope, 'kfold fold 1/2 validation split');
    const noTest = await cli(['eval', '--model', model, '--data', dir, '--protocol', 'all', '--fold', '1']).then(
      () => null,
      (e) => e,
    );
    assert.match(noTest?.stderr, /error \[bad_argument\]: --protocol all has no test split/);

    const an = await cli(['analyze', join(wavDir, files[0]), '--model', model, '--json']);
    const lines = an.stdout
      .trim()
      .split('\n')
      .map((l: string) => JSON.parse(l));
    const a = lines[lines.length - 1]; // turns first, then the whole file
    assert.is(a.type, 'file');
    assert.ok(lines.slice(0, -1).every((l: { type: string }) => l.type === 'turn'));
    assert.ok(Object.keys(a.posteriors).includes(a.label));
    assert.ok(Math.abs(Object.values(a.posteriors as Record<string, number>).reduce((x, y) => x + y, 0) - 1) < 1e-3);

    const bad = await cli(['train', '--corpus', 'nope']).then(
      () => null,
      (e) => e,
    );
    assert.is(bad.code, 2);
    assert.match(bad.stderr, /error \[bad_argument\]: --corpus must be one of/);
    assert.not.match(bad.stderr, /\n\s+at /);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

t.run();
