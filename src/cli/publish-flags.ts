// What `stream` and `mic` share: the flags that say where to publish and what to ask for, and
// a connection that prints every server message as it arrives.
import { DEFAULT_URL, Publisher, type PublishOptions } from '../client/client.js';
import { messagePrinter } from '../client/format.js';
import { CliError } from './errors.js';
import { numberFlag } from './args.js';

export const publishFlags = {
  url: { type: 'string' },
  'hop-ms': { type: 'string' },
  'min-window-ms': { type: 'string' },
  session: { type: 'string' },
  'events-only': { type: 'boolean' },
  json: { type: 'boolean' },
  proto: { type: 'boolean' },
  token: { type: 'string' },
} as const;

export interface PublishFlagValues {
  url?: string;
  'hop-ms'?: string;
  'min-window-ms'?: string;
  session?: string;
  'events-only'?: boolean;
  json?: boolean;
  proto?: boolean;
  token?: string;
  /** stream only: "mix" or "separate". */
  'channel-mode'?: string;
}

/** The numeric publish flags, checked (a bad one is a usage error before anything is read or sent). */
export function publishNumbers(o: PublishFlagValues): { hopMs?: number; minWindowMs?: number } {
  return {
    hopMs: numberFlag('hop-ms', o['hop-ms'], { integer: true, min: 100, max: 3000, multipleOf: 10 }),
    minWindowMs: numberFlag('min-window-ms', o['min-window-ms'], { integer: true, min: 0, max: 3000, multipleOf: 10 }),
  };
}

export async function connectAndPrint(o: PublishFlagValues, audio: PublishOptions['audio']): Promise<Publisher> {
  const mode = o['channel-mode'];
  if (mode !== undefined && mode !== 'mix' && mode !== 'separate')
    throw new CliError('usage', `--channel-mode must be mix or separate, got '${mode}'`, 2);
  const print = messagePrinter(!!o.json, mode === 'separate' && audio.channels > 1);
  const pub = await Publisher.connect({
    url: o.url ?? DEFAULT_URL,
    encoding: o.proto ? 'proto' : 'json',
    token: o.token ?? process.env.EMOSTREAM_TOKEN,
    session: o.session,
    audio,
    ...publishNumbers(o),
    posteriors: !o['events-only'],
    channelMode: mode,
  });
  print(pub.ready);
  pub.messages$.subscribe({ next: print, error: () => {} });
  return pub;
}
