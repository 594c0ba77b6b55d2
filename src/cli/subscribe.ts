// emostream subscribe <session>: follow a session's results (reconnecting if the link drops).
import { lastValueFrom, tap } from 'rxjs';
import { DEFAULT_URL, subscribe } from '../client/client.js';
import { messagePrinter } from '../client/format.js';
import { numberFlag, parseCommandLine } from './args.js';
import { CliError } from './errors.js';
import { publishFlags } from './publish-flags.js';

const HELP = `usage: emostream subscribe <session> [options]

Prints a session's results as they arrive: first its history (ready, its turns and events so
far, the latest posterior; capped by the server), then everything new, until the session ends.
Reconnects with backoff when the connection drops.

options:
  --url <url>        server [${DEFAULT_URL}]
  --events-only      no posteriors, only emotion/speech events
  --json             print every server message as one JSON line
  --proto            use the protobuf encoding instead of JSON
  --token <token>    subscribe token (or EMOSTREAM_TOKEN)
  --retries <n>      reconnect attempts before giving up [8]
  --wait <seconds>   wait this long for a session that has not started yet [0]
  -h, --help         show this help`;

export async function run(argv: string[]): Promise<number> {
  const { url, 'events-only': eventsOnly, json, proto, token } = publishFlags;
  const parsed = parseCommandLine(
    argv,
    { url, 'events-only': eventsOnly, json, proto, token, retries: { type: 'string' }, wait: { type: 'string' } },
    HELP,
  );
  if (!parsed) return 0;
  const { values: o, positionals } = parsed;
  if (positionals.length !== 1) throw new CliError('usage', `expected one session id, got ${positionals.length} argument(s)\n\n${HELP}`, 2);
  const retries = numberFlag('retries', o.retries, { integer: true, min: 0 }, 8);
  const wait = numberFlag('wait', o.wait, { min: 0, max: 300 }, 0);
  const messages$ = subscribe(positionals[0], {
    waitMs: wait * 1000,
    url: o.url ?? DEFAULT_URL,
    encoding: o.proto ? 'proto' : 'json',
    token: o.token ?? process.env.EMOSTREAM_TOKEN,
    posteriors: !o['events-only'],
    maxRetries: retries,
    onReconnect: (n, ms, why) => console.error(`emostream: ${why.message}; reconnecting in ${ms} ms (attempt ${n}/${retries})`),
  }).pipe(tap(messagePrinter(!!o.json)));
  await lastValueFrom(messages$, { defaultValue: undefined });
  return 0;
}
