// The fused LSTM and the WASM kernels patch tfjs internals; a tfjs upgrade that moves one must
// fail here with the target's name, not silently fall back to the slow stock path.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { initTfTraining } from '../src/model/tf.js';
import { missingPatchTargets } from '../src/model/kernels/patch-targets.js';

const t = suite('tfjs patch targets');

t('every internal the fused LSTM and the WASM kernels rely on exists', async () => {
  const backend = await initTfTraining();
  const wasm = tf.getBackend() === 'wasm' ? tf.backend() : undefined;
  const missing = missingPatchTargets(wasm);
  assert.equal(missing, [], `tfjs changed under the patches (backend ${backend}):\n  ${missing.join('\n  ')}`);
});

t('a missing target is named', () => {
  const fake = { makeOutput() {}, disposeData() {} };
  assert.equal(
    missingPatchTargets(fake).filter((m) => m.includes('typedArrayFromHeap')),
    ['the WASM backend object has no typedArrayFromHeap()'],
  );
});

t.run();
