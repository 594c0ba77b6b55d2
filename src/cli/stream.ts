// emostream stream <file.wav | -> : stream audio to a server and print what comes back.
import { DEFAULT_URL, type Publisher } from '../client/client.js';
import { BYTES_PER_SAMPLE, isSampleEncoding } from '../ingest/pcm.js';
import type { PcmFormat } from '../ingest/types.js';
import { readWavFile } from '../ingest/wav.js';
import { parseCommandLine } from './args.js';
import { CliError, UserError } from './errors.js';
import { connectAndPrint, publishFlags } from './publish-flags.js';

const HELP = `usage: emostream stream <file.wav | -> [options]

Streams a WAV file (any rate, channels, integer or float PCM) or raw PCM from stdin ('-') to an
emostream server and prints posteriors and emotion events as they arrive.

options:
  --url <url>            server [${DEFAULT_URL}]
  --fast                 send as fast as the server takes it (default: real-time pace)
  --rate <hz>            stdin only: sample rate [16000]
  --channels <n>         stdin only: interleaved channels [1]
  --encoding <enc>       stdin only: s16le, f32le, mulaw or alaw (G.711) [s16le]
  --hop-ms <ms>          hop between windows, multiple of 10 in 100..3000 [server default 1000]
  --min-window-ms <ms>   emit an early zero-padded first window after this much audio
  --channel-mode <m>     mix (average the channels) or separate (one track per channel,
                         each line starts with its channel: ch0, ch1…) [mix]
  --session <id>         publish under this session id (default: the server picks one)
  --events-only          do not ask for posteriors, only emotion/speech events
  --json                 print every server message as one JSON line
  --proto                use the protobuf encoding (emostream.v1.proto) instead of JSON
  --token <token>        publish token (or EMOSTREAM_TOKEN)
  --chunk-ms <ms>        audio per message [100]
  -h, --help             show this help`;

function positiveNumber(name: string, raw: string | undefined, def: number): number {
  if (raw === undefined) return def;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new CliError('usage', `--${name} must be a positive number, got '${raw}'`, 2);
  return v;
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(
    argv,
    {
      ...publishFlags,
      fast: { type: 'boolean' },
      rate: { type: 'string' },
      channels: { type: 'string' },
      encoding: { type: 'string' },
      'chunk-ms': { type: 'string' },
      'channel-mode': { type: 'string' },
    },
    HELP,
  );
  if (!parsed) return 0;
  const { values: o, positionals } = parsed;
  if (positionals.length !== 1)
    throw new CliError('usage', `expected one WAV file or '-', got ${positionals.length} argument(s)\n\n${HELP}`, 2);
  const source = positionals[0];
  const chunkMs = positiveNumber('chunk-ms', o['chunk-ms'], 100);

  // What we send: a WAV file as f32le in its own rate and channels, or stdin as declared.
  let format: PcmFormat;
  let chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  if (source === '-') {
    const encoding = o.encoding ?? 's16le';
    if (!isSampleEncoding(encoding)) throw new CliError('usage', `--encoding must be s16le, f32le, mulaw or alaw, got '${encoding}'`, 2);
    format = { sampleRate: positiveNumber('rate', o.rate, 16000), encoding, channels: positiveNumber('channels', o.channels, 1) };
    chunks = process.stdin;
  } else {
    if (o.rate || o.channels || o.encoding)
      throw new CliError('usage', '--rate, --channels and --encoding describe stdin; a WAV file declares its own format', 2);
    const audio = await readWavFile(source);
    format = { sampleRate: audio.format.sampleRate, encoding: 'f32le', channels: audio.format.channels };
    const bytes = new Uint8Array(audio.samples.buffer, audio.samples.byteOffset, audio.samples.byteLength);
    const step = Math.max(1, Math.round((format.sampleRate * chunkMs) / 1000)) * format.channels * 4;
    chunks = (function* () {
      for (let i = 0; i < bytes.length; i += step) yield bytes.subarray(i, i + step);
    })();
  }

  const pub = await connectAndPrint(o, format);

  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
  };
  process.on('SIGINT', onSigint);
  const bytesPerMs = (format.sampleRate * format.channels * BYTES_PER_SAMPLE[format.encoding]) / 1000;
  const t0 = performance.now();
  let sent = 0;
  // The server may end the session first (shutdown, fatal error): stop sending, report how it ended.
  let over = false;
  pub.end.then(
    () => (over = true),
    () => (over = true),
  );
  try {
    for await (const chunk of chunks) {
      if (interrupted || over) break;
      sent += chunk.length;
      if (!o.fast) {
        // Like a live source: a chunk goes out once its last sample has "happened".
        const early = sent / bytesPerMs - (performance.now() - t0);
        if (early > 0) await new Promise((r) => setTimeout(r, early));
      }
      if (over) break;
      await pub.send(chunk);
    }
  } catch (err) {
    if (over) return endedEarly(pub);
    if (err instanceof UserError) throw err;
    throw new UserError('read_failed', `reading ${source === '-' ? 'stdin' : source} failed: ${(err as Error).message}`);
  }
  if (over) return endedEarly(pub);
  await pub.stop(); // the server's `end` is printed by the message stream
  process.off('SIGINT', onSigint);
  return interrupted ? 130 : 0;
}

/** The server ended the session before the input did: exit 0 after a clean `end`, else its error. */
async function endedEarly(pub: Publisher): Promise<number> {
  await pub.end; // rejects with the server's fatal error, if that is how it ended
  console.error('emostream: the server ended the session before all audio was sent');
  return 1;
}
