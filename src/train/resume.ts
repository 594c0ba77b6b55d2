// A training run's state at the end of an epoch, on disk, so a run that is stopped (a session
// ends, a machine restarts) continues at the next epoch instead of starting its fold again:
// the model's weights, Adam's moments and step count, the best weights so far, the history.
// Randomness is drawn per epoch from (seed, epoch) (trainer.ts), so a resumed run repeats the
// uninterrupted one.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf } from '../model/tf.js';

export interface ResumeState<H> {
  /** The last finished epoch. */
  epoch: number;
  bestLoss: number;
  bestEpoch: number;
  history: H[];
}

interface TensorIndex {
  name: string;
  shape: number[];
}

async function writeTensors(path: string, tensors: { name: string; tensor: tf.Tensor }[]): Promise<TensorIndex[]> {
  const parts: Uint8Array[] = [];
  const index: TensorIndex[] = [];
  for (const { name, tensor } of tensors) {
    // As float32 whatever the dtype: Adam's step count is an int32 scalar (exact in float32 up to 2^24).
    const data = Float32Array.from(await tensor.data());
    parts.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    index.push({ name, shape: tensor.shape });
  }
  await writeFile(path, Buffer.concat(parts));
  return index;
}

async function readTensors(path: string, index: TensorIndex[]): Promise<{ name: string; tensor: tf.Tensor }[]> {
  const b = await readFile(path);
  const all = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  let at = 0;
  return index.map(({ name, shape }) => {
    const n = shape.reduce((a, d) => a * d, 1);
    const tensor = tf.tensor(all.subarray(at, at + n), shape, 'float32');
    at += n;
    return { name, tensor };
  });
}

/** Writes the state into dir (replacing what was there: written aside, then renamed). */
export async function saveResume<H>(
  dir: string,
  state: ResumeState<H>,
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  best: tf.Tensor[] | null,
): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const weights = await writeTensors(
    join(tmp, 'weights.bin'),
    model.getWeights().map((tensor, i) => ({ name: String(i), tensor })),
  );
  const opt = await optimizer.getWeights();
  const optimizerIndex = await writeTensors(join(tmp, 'optimizer.bin'), opt);
  // The moments are the optimizer's own variables; only the step count is a fresh tensor.
  opt.forEach((w) => !(w.tensor instanceof tf.Variable) && w.tensor.dispose());
  const bestIndex = best
    ? await writeTensors(
        join(tmp, 'best.bin'),
        best.map((tensor, i) => ({ name: String(i), tensor })),
      )
    : null;
  // JSON has no Infinity (a best loss before any finite epoch): stored as null, read back as Infinity.
  const bestLoss = Number.isFinite(state.bestLoss) ? state.bestLoss : null;
  await writeFile(
    join(tmp, 'state.json'),
    JSON.stringify({ ...state, bestLoss, weights, optimizer: optimizerIndex, best: bestIndex }) + '\n',
  );
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
}

/** Loads a saved state into model and optimizer; null when dir holds none. Returns the best weights too. */
export async function loadResume<H>(
  dir: string,
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
): Promise<(ResumeState<H> & { best: tf.Tensor[] | null }) | null> {
  let raw: string;
  try {
    raw = await readFile(join(dir, 'state.json'), 'utf8');
  } catch {
    return null;
  }
  const s = JSON.parse(raw) as ResumeState<H> & { weights: TensorIndex[]; optimizer: TensorIndex[]; best: TensorIndex[] | null };
  const weights = await readTensors(join(dir, 'weights.bin'), s.weights);
  model.setWeights(weights.map((w) => w.tensor));
  tf.dispose(weights.map((w) => w.tensor));
  const moments = await readTensors(join(dir, 'optimizer.bin'), s.optimizer);
  await optimizer.setWeights(moments); // copies them into its own variables
  tf.dispose(moments.map((m) => m.tensor));
  const best = s.best ? (await readTensors(join(dir, 'best.bin'), s.best)).map((w) => w.tensor) : null;
  return { epoch: s.epoch, bestLoss: s.bestLoss ?? Infinity, bestEpoch: s.bestEpoch, history: s.history, best };
}
