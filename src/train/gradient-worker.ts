// One data-parallel gradient worker (see parallel.ts): a copy of the model that computes the
// gradient of its share of each batch with the weights it is sent.
import { parentPort, workerData } from 'node:worker_threads';
import { initTfTraining, tf } from '../model/tf.js';
import { registerCustomLayers } from '../model/layers.js';
import { partGradients } from './gradients.js';
import { rng } from './protocols.js';
import type { GradientReply, GradientRequest, GradientWorkerInit } from './parallel.js';

const port = parentPort!;
const { modelTopology, numClasses } = workerData as GradientWorkerInit;
const send = (m: GradientReply) => port.postMessage(m);

try {
  await initTfTraining();
  registerCustomLayers();
  const model = await tf.models.modelFromJSON({ modelTopology } as tf.io.ModelJSON);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  port.on('message', async (m: GradientRequest) => {
    try {
      m.weights.forEach((w, i) => tf.tidy(() => vars[i].assign(tf.tensor(w, vars[i].shape))));
      Math.random = rng(m.seed);
      const r = await partGradients(model, vars, m.x, m.y, numClasses, m.batchLen, m.micro);
      const grads = r.grads.map((g) => g.dataSync() as Float32Array);
      tf.dispose(r.grads);
      send({ grads, lossSum: r.lossSum, correct: r.correct });
    } catch (err) {
      send({ error: err instanceof Error ? err.message : String(err) });
    }
  });
  send({ ready: true });
} catch (err) {
  send({ error: err instanceof Error ? err.message : String(err) });
}
