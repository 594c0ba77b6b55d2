// emostream stream <file.wav | -> : stream audio to a server and print what comes back.
import { DEFAULT_URL, type Publisher } from '../client/client.js';
import { decodeAudio, decodeAudioFile, peekBytes, BUILTIN_FORMATS } from '../ingest/decode.js';
import { rechunk } from '../ingest/file.js';
import { BYTES_PER_SAMPLE, isSampleEncoding, PcmDecoder } from '../ingest/pcm.js';
import { checkPcm } from '../ingest/plausible.js';
import { kindName, sniffContainer, SNIFF_BYTES } from '../ingest/sniff.js';
import type { AudioChunk, PcmFormat } from '../ingest/types.js';
import { numberFlag, parseCommandLine } from './args.js';
import { CliError, UserError } from './errors.js';
import { connectAndPrint, publishFlags, publishNumbers } from './publish-flags.js';

const HELP = `usage: emostream stream <file | -> [options]

Streams an audio file to an emostream server and prints posteriors and emotion events as they
arrive. Files: ${BUILTIN_FORMATS}; M4A/AAC, WebM and others
with ffmpeg installed. '-' reads stdin: an audio file in any of those formats (recognised by its
first bytes, e.g. a WAV's RIFF header), else raw PCM described by --rate, --channels, --encoding.

options:
  --url <url>            server [${DEFAULT_URL}]
  --fast                 send as fast as the server takes it (default: real-time pace)
  --rate <hz>            raw PCM on stdin: sample rate, 8000..192000 [16000]
  --channels <n>         raw PCM on stdin: interleaved channels, 1..8 [1]
  --encoding <enc>       raw PCM on stdin: s16le, f32le, mulaw or alaw (G.711) [s16le]
  --raw                  stdin is raw PCM even if it starts like a known file format
  --hop-ms <ms>          hop between windows, multiple of 10 in 100..3000 [server default 1000]
  --min-window-ms <ms>   emit an early zero-padded first window after this much audio
  --channel-mode <m>     mix (average the channels) or separate (one track per channel,
                         each line starts with its channel: ch0, ch1…) [mix]
  --session <id>         publish under this session id (default: the server picks one)
  --events-only          do not ask for posteriors, only emotion/speech events
  --json                 print every server message as one JSON line
  --proto                use the protobuf encoding (emostream.v1.proto) instead of JSON
  --token <token>        publish token (or EMOSTREAM_TOKEN)
  --chunk-ms <ms>        audio per message, 10..10000 [100]
  -h, --help             show this help`;

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
      raw: { type: 'boolean' },
    },
    HELP,
  );
  if (!parsed) return 0;
  const { values: o, positionals } = parsed;
  if (positionals.length !== 1)
    throw new CliError('usage', `expected one audio file or '-', got ${positionals.length} argument(s)\n\n${HELP}`, 2);
  const source = positionals[0];
  publishNumbers(o);
  const chunkMs = numberFlag('chunk-ms', o['chunk-ms'], { min: 10, max: 10000 }, 100);
  const rate = numberFlag('rate', o.rate, { integer: true, min: 8000, max: 192000 }, 16000);
  const channels = numberFlag('channels', o.channels, { integer: true, min: 1, max: 8 }, 1);
  const encoding = o.encoding ?? 's16le';
  if (!isSampleEncoding(encoding))
    throw new CliError('bad_argument', `--encoding must be s16le, f32le, mulaw or alaw, got '${encoding}'`, 2);
  const pcmFlags = o.rate !== undefined || o.channels !== undefined || o.encoding !== undefined;
  const warn = (m: string) => console.error(`emostream: warning: ${m}`);

  // What we send: decoded audio as f32le in its own rate and channels, or raw stdin as declared.
  let format: PcmFormat;
  let chunks: AsyncIterable<Uint8Array>;
  let decoded: AsyncGenerator<AudioChunk> | undefined;
  if (source === '-') {
    const { head, rest } = await peekBytes(process.stdin, SNIFF_BYTES);
    const kind = o.raw ? undefined : sniffContainer(head);
    if (kind) {
      if (pcmFlags)
        warn(
          `stdin is ${kindName(kind)} (it starts like one), which declares its own format: --rate, --channels and --encoding are ignored (--raw sends it as raw PCM)`,
        );
      decoded = decodeAudio(rest, 'stdin', { onWarning: warn });
    } else {
      if (o.raw === undefined && !pcmFlags)
        console.error(`emostream: stdin: raw PCM, assumed ${encoding} ${rate} Hz ${channels} channel(s) (--encoding, --rate, --channels)`);
      format = { sampleRate: rate, encoding, channels };
      chunks = checked(rest, format, warn);
    }
  } else {
    if (pcmFlags || o.raw)
      throw new CliError('usage', '--rate, --channels, --encoding and --raw describe raw PCM on stdin; a file declares its own format', 2);
    decoded = decodeAudioFile(source, { onWarning: warn });
  }
  if (decoded) {
    const first = await decoded.next();
    if (first.done) throw new UserError('audio_empty', `${source === '-' ? 'stdin' : source}: holds no audio samples`);
    const fmt = first.value.format;
    format = { sampleRate: fmt.sampleRate, encoding: 'f32le', channels: fmt.channels };
    const frames = Math.max(1, Math.round((fmt.sampleRate * chunkMs) / 1000));
    const all = (async function* () {
      yield first.value;
      yield* decoded;
    })();
    chunks = (async function* () {
      for await (const c of rechunk(all, frames)) yield new Uint8Array(c.samples.buffer, c.samples.byteOffset, c.samples.byteLength);
    })();
  }

  const pub = await connectAndPrint(o, format!);

  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
  };
  process.on('SIGINT', onSigint);
  const bytesPerMs = (format!.sampleRate * format!.channels * BYTES_PER_SAMPLE[format!.encoding]) / 1000;
  const t0 = performance.now();
  let sent = 0;
  // The server may end the session first (shutdown, fatal error): stop sending, report how it ended.
  let over = false;
  pub.end.then(
    () => (over = true),
    () => (over = true),
  );
  try {
    for await (const chunk of chunks!) {
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

/** Raw PCM passed through unchanged; its first second is checked once for signs of wrong flags. */
async function* checked(bytes: AsyncIterable<Uint8Array>, format: PcmFormat, warn: (m: string) => void): AsyncGenerator<Uint8Array> {
  const decoder = new PcmDecoder(format.encoding, format.channels);
  const want = format.sampleRate * format.channels;
  let seen: Float32Array[] = [];
  let n = 0;
  const report = () => {
    const all = new Float32Array(n);
    let at = 0;
    for (const s of seen) {
      all.set(s, at);
      at += s.length;
    }
    for (const w of checkPcm(all, format.channels).warnings)
      warn(`stdin as ${format.encoding} ${format.sampleRate} Hz ${format.channels} channel(s): ${w}`);
    seen = [];
  };
  for await (const b of bytes) {
    if (n < want) {
      const s = decoder.push(b);
      seen.push(s);
      n += s.length;
      if (n >= want) report();
    }
    yield b;
  }
  if (n < want && n > 0) report();
}
