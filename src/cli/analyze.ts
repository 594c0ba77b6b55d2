// emostream analyze <audio>: utterance-level posteriors of one file, through the same Engine
// the server uses (segments as in training, posteriors averaged).
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandLine } from './args.js';
import { CliError } from './errors.js';
import type { ProviderChoice } from '../inference/engine.js';

const HELP = `usage: emostream analyze <audio.wav> [--model DIR] [--provider P] [--json]

  --model DIR    model directory (default models/basic-4)
  --provider P   ONNX Runtime provider: cpu (default), webgpu, cuda or auto (docs/performance.md)
  --json         one JSON object: {file, model, label, posteriors: {label: p}, segments}
`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, { model: { type: 'string' }, provider: { type: 'string' }, json: { type: 'boolean' } }, HELP);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new CliError('bad_argument', `give exactly one audio file\n\n${HELP}`, 2);
  const file = resolve(positionals[0]);
  const modelDir = resolve(values.model ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../models/basic-4'));

  const { loadAudio16k } = await import('../dsp/load.js');
  const { computeFeatures } = await import('../dsp/features.js');
  const { loadEngine } = await import('../inference/load-engine.js');
  const { scoreUtterance } = await import('../inference/utterance.js');
  const signal = await loadAudio16k(file);
  const features = computeFeatures(signal);
  if (features.frames === 0) throw new CliError('audio_too_short', `'${positionals[0]}' is shorter than one 25 ms frame`);
  const { PROVIDER_CHOICES } = await import('../inference/engine.js');
  const provider = (values.provider ?? 'cpu') as ProviderChoice;
  if (!PROVIDER_CHOICES.includes(provider))
    throw new CliError('bad_argument', `--provider must be one of ${PROVIDER_CHOICES.join(', ')}, got '${values.provider}'`, 2);
  const engine = await loadEngine(modelDir, { provider, log: (line) => console.error(`emostream: ${line}`) });
  try {
    const { probs: avg, windows } = await scoreUtterance(engine, features);
    const k = engine.labels.length;
    let best = 0;
    for (let c = 1; c < k; c++) if (avg[c] > avg[best]) best = c;
    const posteriors = Object.fromEntries(engine.labels.map((l, c) => [l, Number(avg[c].toFixed(4))]));
    if (values.json) {
      console.log(
        JSON.stringify({
          file: positionals[0],
          model: engine.model,
          backend: engine.backend,
          label: engine.labels[best],
          posteriors,
          segments: windows,
          seconds: signal.length / 16000,
        }),
      );
    } else {
      console.log(
        `${positionals[0]}: ${engine.labels[best]}  (${(signal.length / 16000).toFixed(2)} s, ${windows} segment${windows > 1 ? 's' : ''}, model ${engine.model})`,
      );
      const w = Math.max(...engine.labels.map((l) => l.length));
      engine.labels.forEach((l, c) => console.log(`  ${l.padEnd(w)}  ${avg[c].toFixed(3)}  ${'█'.repeat(Math.round(avg[c] * 40))}`));
    }
  } finally {
    await engine.dispose();
  }
  return 0;
}
