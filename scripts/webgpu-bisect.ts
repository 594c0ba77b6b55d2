// Where do ONNX Runtime's WebGPU and CPU providers disagree? Makes every node's output a graph
// output, runs the same real speech windows through both providers, and prints each node's
// largest absolute and relative difference in graph order, so the first node that diverges is
// the one to report upstream (docs/performance.md, "WebGPU parity"). Writes JSON with --out.
//
//   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json \
//     node --import tsx scripts/webgpu-bisect.ts [--model models/basic-4] [--batch 8] [--wav-dir DIR] [--out FILE]
//
// Exposing an intermediate value keeps ORT from fusing across it (Conv+Relu stay two kernels),
// so a disagreement that only a fused kernel shows can vanish here; the posteriors row, run on
// the unmodified model, shows whether it does.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { decodeModel, encodeModel, DataType, type ValueInfoMsg } from '../src/export/proto.js';
import { loadAudio16k } from '../src/dsp/load.js';
import { computeFeatures } from '../src/dsp/features.js';
import { cutWindow, utteranceWindows } from '../src/dsp/utterance.js';
import { meanNormalized } from '../src/dsp/normalize.js';
import { readMeta } from '../src/model-dir.js';
import { WINDOW_FRAMES, N_MELS, N_CHANNELS, WINDOW_SIZE } from '../src/dsp/types.js';
import { INPUT_NAME, OUTPUT_NAME } from '../src/inference/ort-session.js';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/basic-4' },
    batch: { type: 'string', default: '8' },
    'wav-dir': { type: 'string', default: '../shared/data/emodb/wav' },
    out: { type: 'string' },
  },
});
const batch = Number(a.batch);
const meta = await readMeta(a.model!);

const windows: Float32Array[] = [];
for (const f of readdirSync(a['wav-dir']!)
  .filter((x) => x.endsWith('.wav'))
  .sort()) {
  const feats = computeFeatures(await loadAudio16k(join(a['wav-dir']!, f)));
  for (const w of utteranceWindows(feats.frames)) windows.push(meanNormalized(cutWindow(feats.data, w), meta.norm));
  if (windows.length >= batch) break;
}
const input = new Float32Array(batch * WINDOW_SIZE);
for (let i = 0; i < batch; i++) input.set(windows[i % windows.length], i * WINDOW_SIZE);
const feeds = () => ({ [INPUT_NAME]: new ort.Tensor('float32', input, [batch, WINDOW_FRAMES, N_MELS, N_CHANNELS]) });

const original = readFileSync(join(a.model!, 'model.onnx'));
const model = decodeModel(original);
const outputs = new Set(model.graph.output.map((o) => o.name));
const order: { node: string; op: string; value: string }[] = [];
for (const n of model.graph.node) {
  for (const value of n.output) {
    if (!value) continue;
    order.push({ node: n.name, op: n.op_type, value });
    // No shape: ORT infers it (an empty shape would declare a scalar).
    if (!outputs.has(value)) model.graph.output.push({ name: value, type: { tensor_type: { elem_type: DataType.FLOAT } } } as ValueInfoMsg);
  }
}
const exposed = encodeModel(model);

async function run(bytes: Uint8Array, provider: 'cpu' | 'webgpu'): Promise<ort.InferenceSession.OnnxValueMapType> {
  const s = await ort.InferenceSession.create(bytes, {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
  try {
    return await s.run(feeds());
  } finally {
    await s.release();
  }
}

function diff(x: ort.Tensor, y: ort.Tensor): { maxAbs: number; maxRel: number; scale: number } {
  const p = x.data as Float32Array;
  const q = y.data as Float32Array;
  let maxAbs = 0;
  let scale = 0;
  for (let i = 0; i < p.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(p[i] - q[i]));
    scale = Math.max(scale, Math.abs(q[i]));
  }
  return { maxAbs, maxRel: scale > 0 ? maxAbs / scale : maxAbs, scale };
}

const [cpuAll, gpuAll] = [await run(exposed, 'cpu'), await run(exposed, 'webgpu')];
const [cpuOut, gpuOut] = [await run(original, 'cpu'), await run(original, 'webgpu')];
const rows = order.map((o) => ({ ...o, dims: cpuAll[o.value].dims, ...diff(gpuAll[o.value], cpuAll[o.value]) }));
rows.push({
  node: '(unmodified graph)',
  op: '-',
  value: OUTPUT_NAME,
  dims: cpuOut[OUTPUT_NAME].dims,
  ...diff(gpuOut[OUTPUT_NAME], cpuOut[OUTPUT_NAME]),
});
console.log(`${a.model} batch ${batch}, ${windows.length >= batch ? 'distinct' : 'repeated'} Emo-DB windows; WebGPU vs CPU per node`);
console.log('| node | op | shape | max abs Δ | max rel Δ (÷ max |cpu|) |\n|---|---|---|---|---|');
for (const r of rows)
  console.log(`| ${r.node} | ${r.op} | ${r.dims.join('×')} | ${r.maxAbs.toExponential(2)} | ${r.maxRel.toExponential(2)} |`);
const first = rows.find((r) => r.maxRel > 1e-4);
console.log(first ? `first node over 1e-4 relative: ${first.node} (${first.op})` : 'every node agrees within 1e-4 relative');
if (a.out) writeFileSync(a.out, JSON.stringify({ model: a.model, batch, rows, firstDivergent: first?.node ?? null }, null, 1) + '\n');
