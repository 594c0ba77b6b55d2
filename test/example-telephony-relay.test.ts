// examples/telephony-relay.ts against a real server: a fake voice platform streams a call as
// JSON media messages (base64 μ-law, 20 ms each, caller and agent tracks interleaved, like
// Twilio Media Streams); the relay's session must give the same turns as the caller's audio
// published directly, and a call in a format it cannot relay is refused with a clear reason.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { lastValueFrom, toArray } from 'rxjs';
import { startRelay } from '../examples/telephony-relay.js';
import { ofType, Publisher } from '../src/client/client.js';
import type { ServerMessage, UtteranceMsg } from '../src/protocol/messages.js';
import { EmostreamServer } from '../src/server/server.js';
import { rng } from './fixtures/wavgen.js';
import { linear2ulaw } from './helpers/g711.js';
import { TestEngine } from './helpers/server-engine.js';

const RATE = 8000;

/** μ-law at 8 kHz: quiet line noise, with a tone during `spans` (seconds). */
function call(seconds: number, spans: [number, number][], hz: number, seed: number): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(seconds * RATE);
  for (let i = 0; i < out.length; i++) {
    const t = i / RATE;
    const on = spans.some(([a, b]) => t >= a && t < b);
    const x = 30 * (r() * 2 - 1) + (on ? 9000 * Math.sin((2 * Math.PI * hz * i) / RATE) : 0);
    out[i] = linear2ulaw(Math.round(x));
  }
  return out;
}

const R = suite<{ server: EmostreamServer; url: string }>('telephony relay example');
R.before(async (ctx) => {
  ctx.server = new EmostreamServer({ engine: new TestEngine(), port: 0 });
  ctx.url = (await ctx.server.listen()).url;
});
R.after(async ({ server }) => server.close());

R("a media stream of base64 μ-law becomes a session with the caller's turns", async ({ url }) => {
  const caller = call(
    6,
    [
      [0.5, 2],
      [3, 4.5],
    ],
    300,
    1,
  );
  const agent = call(6, [[0, 6]], 700, 2); // the other track: talks throughout, must not be mixed in
  const got: ServerMessage[] = [];
  const relay = await startRelay(0, { url, onMessage: (_, m) => got.push(m) });
  const ws = new WebSocket(`ws://127.0.0.1:${relay.port}/`);
  await new Promise((r) => ws.once('open', r));
  const send = (m: object) => ws.send(JSON.stringify(m));
  send({ event: 'connected', protocol: 'Call', version: '1.0.0' });
  send({
    event: 'start',
    sequenceNumber: '1',
    streamSid: 'MZ0123',
    start: { callSid: 'CA42', tracks: ['inbound', 'outbound'], mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } },
  });
  for (let at = 0, chunk = 1; at < caller.length; at += 160, chunk++) {
    for (const [track, audio] of [
      ['inbound', caller],
      ['outbound', agent],
    ] as const) {
      const payload = Buffer.from(audio.subarray(at, at + 160)).toString('base64');
      send({ event: 'media', streamSid: 'MZ0123', media: { track, chunk: String(chunk), timestamp: String(at / 8), payload } });
    }
  }
  send({ event: 'stop', streamSid: 'MZ0123', stop: { callSid: 'CA42' } });
  const deadline = Date.now() + 20000;
  while (!got.some((m) => m.type === 'end') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  ws.close();
  await relay.close();

  // The same caller audio, published directly.
  const pub = await Publisher.connect({ url, audio: { sampleRate: 8000, encoding: 'mulaw', channels: 1 } });
  const direct = lastValueFrom(pub.messages$.pipe(ofType('utterance'), toArray()));
  await pub.send(caller);
  await pub.stop();
  const turns = (u: UtteranceMsg[]) => u.map((m) => [m.startMs, m.endMs, m.label, m.probs]);
  const relayed = got.filter((m): m is UtteranceMsg => m.type === 'utterance');
  assert.is(relayed.length, 2, 'two turns of the caller, none of the agent');
  assert.equal(turns(relayed), turns(await direct));
  const end = got.find((m) => m.type === 'end');
  assert.is(end?.type === 'end' && end.audioMs, 6000, 'every inbound payload arrived, no outbound one');
});

R('a call in a format that is not G.711 is refused, with the reason', async ({ url }) => {
  const errors: string[] = [];
  const relay = await startRelay(0, { url, onError: (c, e) => errors.push(`${c}: ${e.message}`) });
  const ws = new WebSocket(`ws://127.0.0.1:${relay.port}/`);
  await new Promise((r) => ws.once('open', r));
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  ws.send(
    JSON.stringify({
      event: 'start',
      streamSid: 'MZ9',
      start: { callSid: 'CA9', mediaFormat: { encoding: 'audio/l16', sampleRate: 16000, channels: 1 } },
    }),
  );
  assert.is(await closed, 1011);
  assert.equal(errors, ["CA9: media encoding 'audio/l16' is not G.711 (audio/x-mulaw or audio/x-alaw)"]);
  await relay.close();
});

R.run();
