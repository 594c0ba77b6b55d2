// emostream mic: stream the microphone (through SoX's rec, sox or arecord) to a server.
import { DEFAULT_URL } from '../client/client.js';
import { microphone, type RecorderName } from '../ingest/mic.js';
import { numberFlag, parseCommandLine } from './args.js';
import { CliError } from './errors.js';
import { connectAndPrint, publishFlags, publishNumbers } from './publish-flags.js';

const HELP = `usage: emostream mic [options]

Streams the default microphone to an emostream server and prints posteriors and emotion
events until Ctrl-C (which flushes the last window and ends the session). Needs SoX ('rec')
or, with --recorder arecord, ALSA's arecord.

options:
  --url <url>            server [${DEFAULT_URL}]
  --recorder <name>      rec, sox or arecord [rec]
  --device <name>        recorder device (AUDIODEV for SoX, -D for arecord)
  --rate <hz>            capture rate [16000]
  --hop-ms <ms>          hop between windows [server default 1000]
  --min-window-ms <ms>   first (early, zero-padded) window after this much audio
  --session <id>         publish under this session id
  --events-only          no posteriors, only emotion/speech events
  --json                 print every server message as one JSON line
  --proto                use the protobuf encoding
  --token <token>        publish token (or EMOSTREAM_TOKEN)
  -h, --help             show this help`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(
    argv,
    { ...publishFlags, recorder: { type: 'string' }, device: { type: 'string' }, rate: { type: 'string' } },
    HELP,
    false,
  );
  if (!parsed) return 0;
  const o = parsed.values;
  const rate = numberFlag('rate', o.rate, { integer: true, min: 8000, max: 192000 }, 16000);
  publishNumbers(o);
  const pub = await connectAndPrint(o, { sampleRate: rate, encoding: 'f32le', channels: 1 });
  if (!o.json) console.error('emostream: listening to the microphone; Ctrl-C to stop');

  // Ctrl-C stops the recorder; the session is then flushed and ended.
  await new Promise<void>((resolve, reject) => {
    const sub = microphone({ sampleRate: rate, recorder: (o.recorder ?? 'rec') as RecorderName, device: o.device }).subscribe({
      next: (chunk) =>
        void pub.send(new Uint8Array(chunk.samples.buffer, chunk.samples.byteOffset, chunk.samples.byteLength)).catch(reject),
      error: reject,
      complete: resolve,
    });
    process.once('SIGINT', () => {
      sub.unsubscribe();
      resolve();
    });
    pub.end.then(() => {
      sub.unsubscribe();
      resolve();
    }, reject);
  }).catch(async (err) => {
    pub.close();
    throw err;
  });
  await pub.stop();
  return 0;
}
