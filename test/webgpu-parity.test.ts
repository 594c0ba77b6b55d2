// ONNX Runtime's WebGPU provider computes the shipped model's posteriors as the CPU provider
// does: max |Δp| ≤ 1e-3 on real Emo-DB speech windows at batch 1, 8 and 64. Without a GPU it
// runs on the SwiftShader Vulkan driver that Debian's chromium ships (.ci/run installs it and
// libvulkan1): slow (minutes at batch 64 on 2 cores), but the same WGSL kernels a GPU runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OnnxEngine } from '../src/inference/onnx-engine.js';
import { loadAudio16k } from '../src/dsp/load.js';
import { computeFeatures } from '../src/dsp/features.js';
import { cutWindow, utteranceWindows } from '../src/dsp/utterance.js';
import { maxAbsDiff } from '../src/inference/auto-provider.js';
import { dataTest, sharedPath } from './helpers/shared-data.js';

const MODEL = fileURLToPath(new URL('../models/basic-4', import.meta.url));
const EMODB = sharedPath('emodb/wav');
const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
const BATCHES = [1, 8, 64];

/** The first n windows (50 % overlap, as analyze cuts them) of Emo-DB's files in name order. */
async function speechWindows(n: number): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const f of readdirSync(EMODB)
    .filter((x) => x.endsWith('.wav'))
    .sort()) {
    const feats = computeFeatures(await loadAudio16k(join(EMODB, f)));
    for (const w of utteranceWindows(feats.frames)) if (out.length < n) out.push(cutWindow(feats.data, w));
    if (out.length >= n) return out;
  }
  throw new Error(`only ${out.length} windows in ${EMODB}`);
}

dataTest(test, 'WebGPU = CPU provider on real speech, batch 1, 8, 64 (max |Δp| ≤ 1e-3)', [EMODB, SWIFTSHADER], async () => {
  // A machine with a GPU driver may test it instead; everywhere else, SwiftShader. The Vulkan
  // loader reads it once, when the provider starts; later tests in this process get it unset.
  const saved = process.env.VK_ICD_FILENAMES;
  process.env.VK_ICD_FILENAMES ??= SWIFTSHADER;
  const windows = await speechWindows(Math.max(...BATCHES));
  const cpu = await OnnxEngine.load(MODEL, { providers: ['cpu'] });
  const gpu = await OnnxEngine.load(MODEL, { providers: ['webgpu'] }).finally(() => {
    if (saved === undefined) delete process.env.VK_ICD_FILENAMES;
  });
  try {
    assert.is(gpu.provider, 'webgpu');
    const report: string[] = [];
    for (const n of BATCHES) {
      const batch = windows.slice(0, n);
      const [want, got] = [await cpu.infer(batch), await gpu.infer(batch)];
      const d = maxAbsDiff(got, want);
      report.push(`batch ${n}: max |Δp| ${d.toExponential(2)}`);
      assert.ok(d <= 1e-3, `${gpu.backend} vs cpu at batch ${n}: max |Δp| ${d}`);
      // The windows differ from each other, so a kernel that mixed up batch elements would show.
      assert.ok(maxAbsDiff(got.slice(1), got.slice(0, -1)) > 1e-3 || n === 1);
    }
    console.log(`  ${gpu.backend}: ${report.join(', ')}`);
  } finally {
    await Promise.all([cpu.dispose(), gpu.dispose()]);
  }
});

test.run();
