// Relay a telephony media stream into emostream. Voice platforms stream a call's audio over a
// WebSocket as JSON messages with base64 G.711 payloads (Twilio Media Streams and others like
// it): `connected`, `start` (the call and its media format), one `media` per 20 ms of audio,
// `stop`. This relay accepts such connections and opens one emostream session per call,
// forwarding each payload's bytes as they are (the server decodes μ-law / A-law itself).
//
//   node --import tsx examples/telephony-relay.ts [--port 8090] [--url ws://127.0.0.1:8080] [--track inbound]
//
// then point the platform's media stream at ws://<this host>:8090/. Each turn's result is
// printed as one JSON line ({ call, type: "utterance", ... }).
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { Publisher } from '../src/client/client.js';
import type { EndMsg, ServerMessage } from '../src/protocol/messages.js';

/** The media-stream messages this relay reads (other events, e.g. `mark` or `dtmf`, are ignored). */
type MediaEvent =
  | { event: 'connected' }
  | {
      event: 'start';
      streamSid: string;
      start: { callSid?: string; tracks?: string[]; mediaFormat: { encoding: string; sampleRate: number; channels: number } };
    }
  | { event: 'media'; media: { track?: string; payload: string } }
  | { event: 'stop' };

export interface RelayOptions {
  /** The emostream server, e.g. ws://127.0.0.1:8080. */
  url: string;
  token?: string;
  /** Which party to analyse: the caller ("inbound", the default) or what the platform plays ("outbound"). */
  track?: 'inbound' | 'outbound';
  /** Every server message of a call's session. */
  onMessage?(call: string, m: ServerMessage): void;
  /** A call that could not be relayed (bad media format, server refused, connection lost). */
  onError?(call: string, err: Error): void;
}

const ENCODINGS: Record<string, 'mulaw' | 'alaw'> = { 'audio/x-mulaw': 'mulaw', 'audio/x-alaw': 'alaw' };

/** One media-stream connection → one emostream session; resolves with the session's `end`. */
export function relayCall(media: WebSocket, opts: RelayOptions): Promise<EndMsg> {
  return new Promise<EndMsg>((resolve, reject) => {
    const track = opts.track ?? 'inbound';
    let call = 'unknown';
    let pub: Promise<Publisher> | undefined;
    // Sends stay in arrival order even while the session is still connecting.
    let chain: Promise<unknown> = Promise.resolve();
    const fail = (err: Error) => {
      opts.onError?.(call, err);
      media.close(1011, 'relay failed');
      reject(err);
    };
    const finish = () => {
      if (!pub) return reject(new Error(`the media stream ended before its start event`));
      const p = pub;
      pub = undefined;
      chain = chain.then(async () => resolve(await (await p).stop())).catch(fail);
    };
    media.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) return;
      let m: MediaEvent;
      try {
        m = JSON.parse(data.toString()) as MediaEvent;
      } catch {
        return fail(new Error(`a media-stream message is not JSON`));
      }
      if (m.event === 'start') {
        if (pub) return;
        call = m.start.callSid ?? m.streamSid;
        const { encoding, sampleRate, channels } = m.start.mediaFormat;
        const enc = ENCODINGS[encoding];
        if (!enc) return fail(new Error(`media encoding '${encoding}' is not G.711 (audio/x-mulaw or audio/x-alaw)`));
        pub = Publisher.connect({
          url: opts.url,
          token: opts.token,
          session: `call-${m.streamSid}`.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64),
          audio: { sampleRate, encoding: enc, channels },
          posteriors: false,
        });
        pub.then(
          (p) => p.messages$.subscribe({ next: (msg) => opts.onMessage?.(call, msg), error: () => {} }),
          (err: Error) => fail(err),
        );
      } else if (m.event === 'media') {
        if (!pub || (m.media.track ?? 'inbound') !== track) return;
        const bytes = Buffer.from(m.media.payload, 'base64');
        const p = pub;
        chain = chain.then(async () => (await p).send(bytes));
      } else if (m.event === 'stop') finish();
    });
    // A platform that hangs up without `stop` still ends the session cleanly.
    media.on('close', () => (pub ? finish() : reject(new Error(`the media stream closed before it started`))));
  });
}

/** A WebSocket server for media streams, relaying each connection with relayCall. */
export async function startRelay(port: number, opts: RelayOptions): Promise<{ port: number; close(): Promise<void> }> {
  const wss = new WebSocketServer({ port });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', (ws) => void relayCall(ws, opts).catch(() => {}));
  const address = wss.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close: () => new Promise<void>((r) => wss.close(() => r())),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8090' },
      url: { type: 'string', default: 'ws://127.0.0.1:8080' },
      track: { type: 'string' },
    },
  });
  const track = values.track === 'outbound' ? 'outbound' : 'inbound';
  const relay = await startRelay(Number(values.port), {
    url: values.url!,
    token: process.env.EMOSTREAM_TOKEN,
    track,
    onMessage: (call, m) => {
      if (m.type === 'utterance' || m.type === 'end') console.log(JSON.stringify({ call, ...m }));
    },
    onError: (call, err) => console.error(`call ${call}: ${err.message}`),
  });
  console.error(`relaying media streams from ws://0.0.0.0:${relay.port}/ to ${values.url} (${track} track)`);
}
