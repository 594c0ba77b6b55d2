// emostream features <audio.wav> [--npy out.npy] [--json]: the front end on one file.
import { writeFile } from 'node:fs/promises';
import { computeFeatures } from '../dsp/features.js';
import { encodeNpyF32 } from '../dsp/npy.js';
import { N_CHANNELS, N_MELS, SAMPLE_RATE } from '../dsp/types.js';
import { windowCount } from '../dsp/windows.js';
import { toMono16kSignal } from '../dsp/load.js';
import { BUILTIN_FORMATS, collect, decodeAudio, readAudioFile } from '../ingest/decode.js';
import { parseCommandLine } from './args.js';
import { CliError, UserError } from './errors.js';

const HELP = `usage: emostream features <audio file | -> [--npy out.npy] [--json]

Computes the Log-Mel/Δ/ΔΔ features of an audio file (any rate and channels; downmixed and
resampled to 16 kHz) as defined in docs/features.md: T frames × 40 mel bands × 3 channels
(static, Δ, ΔΔ). Formats: ${BUILTIN_FORMATS}; M4A/AAC and others with ffmpeg
installed. '-' reads the file from stdin, e.g. curl -s URL/talk.flac | emostream features - --npy f.npy

options:
  --npy <path>  write the [T, 40, 3] float32 array as a NumPy .npy file
  --json        print {"shape":[T,40,3],"data":[...]} (data flattened in C order) to stdout
  -h, --help    show this help

Without --npy or --json, prints a short summary.`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, { npy: { type: 'string' }, json: { type: 'boolean' } }, HELP);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new CliError('usage', `expected exactly one audio file, got ${positionals.length}\n\n${HELP}`, 2);
  const path = positionals[0];

  const warn = (m: string) => console.error(`emostream: warning: ${m}`);
  const audio =
    path === '-'
      ? await collect(decodeAudio(process.stdin, 'stdin', { onWarning: warn }), 'stdin')
      : await readAudioFile(path, { onWarning: warn });
  const signal = toMono16kSignal(audio);
  const { frames, data } = computeFeatures(signal);
  const shape = [frames, N_MELS, N_CHANNELS];

  if (values.npy) {
    try {
      await writeFile(values.npy, encodeNpyF32(data, shape));
    } catch (err) {
      throw new UserError(
        'output_unwritable',
        `cannot write ${values.npy}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  }
  if (values.json) {
    await writeJson(shape, data);
  } else {
    const { sampleRate, channels } = audio.format;
    const seconds = audio.samples.length / channels / sampleRate;
    const lines = [
      `file:     ${path === '-' ? '(stdin)' : path}`,
      `input:    ${sampleRate} Hz, ${channels} channel${channels === 1 ? '' : 's'}, ${seconds.toFixed(3)} s${sampleRate !== SAMPLE_RATE || channels !== 1 ? ' (converted to 16 kHz mono)' : ''}`,
      `frames:   ${frames} (10 ms hop, 25 ms frames)`,
      `shape:    [${shape.join(', ')}] float32`,
      `windows:  ${windowCount(frames)} of 300 frames (hop 100)`,
    ];
    if (values.npy) lines.push(`wrote:    ${values.npy}`);
    console.log(lines.join('\n'));
  }
  return 0;
}

/**
 * Writes {"shape":…,"data":[…]} in pieces, so an hour of audio does not build one 800 MB string.
 * A reader that goes away (`| head`) just ends the output: EPIPE is not an error here.
 */
async function writeJson(shape: number[], data: Float32Array): Promise<void> {
  const out = process.stdout;
  let closed = false;
  const onError = (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    closed = true;
  };
  out.on('error', onError);
  const write = (text: string) =>
    closed || out.write(text)
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          out.once('drain', resolve);
          out.once('error', () => resolve());
        });
  try {
    await write(`{"shape":${JSON.stringify(shape)},"data":[`);
    const piece = 65536;
    for (let at = 0; at < data.length && !closed; at += piece) {
      const text = JSON.stringify(Array.from(data.subarray(at, at + piece)));
      await write((at > 0 ? ',' : '') + text.slice(1, -1));
    }
    await write(']}\n');
  } finally {
    if (!closed) out.off('error', onError);
  }
}
