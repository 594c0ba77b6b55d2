// emostream analyze <audio>: the emotion of each speech turn of a recording, as it is reached,
// and of the whole recording, through the same Engine the server uses. The file is decoded and
// scored piece by piece (inference/stream-analysis.ts), so an hour takes no more memory than a
// minute.
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatMessage } from '../client/format.js';
import { parseCommandLine } from './args.js';
import { CliError } from './errors.js';
import type { ProviderChoice } from '../inference/engine.js';

const HELP = `usage: emostream analyze <audio file> [--model DIR] [--provider P] [--json]

Prints each speech turn's emotion as the file is read (the server's turns: runs of speech found
by the voice-activity detector, scored by the mean posterior of their windows), then the whole
file's posteriors (the mean over all its 3 s windows, hop 1.5 s). Any length: the file is
decoded and scored in pieces. Formats as for 'emostream stream'.

  --model DIR    model directory (default models/basic-4)
  --provider P   ONNX Runtime provider: cpu (default), webgpu, cuda or auto (docs/performance.md)
  --json         JSON lines: {"type":"turn",startMs,endMs,label,confidence,probs,windows} per
                 turn, then {"type":"file",file,model,backend,label,posteriors,segments,turns,seconds}
`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, { model: { type: 'string' }, provider: { type: 'string' }, json: { type: 'boolean' } }, HELP);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new CliError('bad_argument', `give exactly one audio file\n\n${HELP}`, 2);
  const file = resolve(positionals[0]);
  const modelDir = resolve(values.model ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../models/basic-4'));

  const { PROVIDER_CHOICES } = await import('../inference/engine.js');
  const provider = (values.provider ?? 'cpu') as ProviderChoice;
  if (!PROVIDER_CHOICES.includes(provider))
    throw new CliError('bad_argument', `--provider must be one of ${PROVIDER_CHOICES.join(', ')}, got '${values.provider}'`, 2);
  const { decodeAudioFile } = await import('../ingest/decode.js');
  const { loadEngine } = await import('../inference/load-engine.js');
  const { analyzeRecording } = await import('../inference/stream-analysis.js');
  const warn = (m: string) => console.error(`emostream: warning: ${m}`);
  // Open and recognise the file before paying for the model, so a bad file fails fast.
  const chunks = decodeAudioFile(file, { onWarning: warn });
  const first = await chunks.next();
  const engine = await loadEngine(modelDir, { provider, log: (line) => console.error(`emostream: ${line}`) });
  const labels = engine.labels;
  const top = (p: ArrayLike<number>) => {
    let best = 0;
    for (let c = 1; c < labels.length; c++) if (p[c] > p[best]) best = c;
    return best;
  };
  const named = (p: ArrayLike<number>) => Object.fromEntries(labels.map((l, c) => [l, Number(p[c].toFixed(4))]));
  try {
    const all = (async function* () {
      if (!first.done) yield first.value;
      yield* chunks;
    })();
    if (!values.json) console.log(`${positionals[0]}  (model ${engine.model})`);
    const result = await analyzeRecording(engine, all, {
      onTurn: (t) => {
        const best = top(t.probs);
        const turn = {
          startMs: t.startMs,
          endMs: t.endMs,
          label: labels[best],
          confidence: Number(t.probs[best].toFixed(4)),
          probs: named(t.probs),
          windows: t.windows,
        };
        console.log(
          values.json ? JSON.stringify({ type: 'turn', ...turn }) : formatMessage({ type: 'utterance', ...turn, channel: 0, latencyMs: 0 }),
        );
      },
    });
    if (result.windows === 0) throw new CliError('audio_too_short', `'${positionals[0]}' is shorter than one 25 ms frame`);
    const avg = result.probs;
    const best = top(avg);
    if (values.json) {
      console.log(
        JSON.stringify({
          type: 'file',
          file: positionals[0],
          model: engine.model,
          backend: engine.backend,
          label: labels[best],
          posteriors: named(avg),
          segments: result.windows,
          turns: result.turns,
          seconds: result.seconds,
        }),
      );
    } else {
      console.log(
        `whole file: ${labels[best]}  (${result.seconds.toFixed(2)} s, ${result.windows} segment${result.windows > 1 ? 's' : ''}, ${result.turns} turn${result.turns === 1 ? '' : 's'})`,
      );
      const w = Math.max(...labels.map((l) => l.length));
      labels.forEach((l, c) => console.log(`  ${l.padEnd(w)}  ${avg[c].toFixed(3)}  ${'█'.repeat(Math.round(avg[c] * 40))}`));
    }
  } finally {
    await chunks.return(undefined);
    await engine.dispose();
  }
  return 0;
}
