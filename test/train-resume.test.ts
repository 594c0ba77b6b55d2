// A training run stopped after an epoch and started again continues from its saved state
// (weights, Adam's moments, best weights, history) and ends where the uninterrupted run ends.
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FRAME_SIZE } from '../src/dsp/types.js';
import { buildModel } from '../src/model/sta-crnn.js';
import { initTfTraining, tf } from '../src/model/tf.js';
import type { LoadedUtterance } from '../src/train/dataset.js';
import { rng } from '../src/train/protocols.js';
import { trainModel, type TrainConfig } from '../src/train/trainer.js';

function utterances(n: number, seed: number): LoadedUtterance[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const frames = 120 + Math.floor(r() * 300);
    const data = Float32Array.from({ length: frames * FRAME_SIZE }, () => r() * 2 - 1 + (i % 2) * 0.5);
    return { path: `u${i}`, speaker: `s${i % 3}`, label: String(i % 2), y: i % 2, features: { frames, data } };
  });
}

const cfg: TrainConfig = { epochs: 3, batchSize: 4, lr: 1e-3, weightDecay: 5e-4, patience: 0, seed: 5, workers: 1 };
const norm = { mean: new Array(FRAME_SIZE).fill(0), std: new Array(FRAME_SIZE).fill(1) };

async function weightsAfter(resumeDir?: string, interruptAfter?: number): Promise<{ w: Float32Array[]; epochs: number[] }> {
  const model = buildModel({ width: 0.0625, numClasses: 2, seed: 3 });
  const train = utterances(10, 1),
    val = utterances(4, 2);
  const epochs: number[] = [];
  try {
    await trainModel(model, train, val, norm, ['0', '1'], cfg, {
      progress: false,
      resumeDir,
      onEpoch: (e) => {
        epochs.push(e.epoch);
        if (e.epoch === interruptAfter) throw new Error('interrupted');
      },
    });
  } catch (err) {
    if ((err as Error).message !== 'interrupted') throw err;
  }
  const w = model.getWeights().map((t) => t.dataSync() as Float32Array);
  model.dispose();
  return { w, epochs };
}

test('a run interrupted after epoch 1 and resumed equals the uninterrupted run', async () => {
  await initTfTraining();
  const dir = mkdtempSync(join(tmpdir(), 'emostream-resume-'));
  try {
    const whole = await weightsAfter();
    assert.equal(whole.epochs, [1, 2, 3]);
    const first = await weightsAfter(join(dir, 'r'), 1);
    assert.equal(first.epochs, [1]);
    assert.ok(existsSync(join(dir, 'r', 'state.json')), 'state saved at the end of epoch 1');
    const rest = await weightsAfter(join(dir, 'r'));
    assert.equal(rest.epochs, [2, 3], 'continues at epoch 2');
    let maxDiff = 0;
    whole.w.forEach((a, i) => a.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - rest.w[i][j])))));
    assert.ok(maxDiff < 1e-5, `weights differ by ${maxDiff}`);
    // And a run that is not resumed from the same point does differ: the check can fail.
    const other = await weightsAfter(join(dir, 'fresh'), 2);
    let d2 = 0;
    whole.w.forEach((a, i) => a.forEach((v, j) => (d2 = Math.max(d2, Math.abs(v - other.w[i][j])))));
    assert.ok(d2 > 1e-4, `two and three epochs differ (${d2})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    tf.disposeVariables();
  }
});

test.run();
