// Values protobufjs's verify accepts but its conversion would corrupt are refused with a coded
// invalid_message (issue #14, defects 5 and 6), and a client told "no" during the handshake gets
// that coded error, not a ReferenceError (defect 8).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocketServer } from 'ws';
import { Publisher } from '../src/client/client.js';
import { serverCodec } from '../src/protocol/codec.js';
import { UserError } from '../src/errors.js';

const codec = serverCodec('json');
const refuse = (msg: object, re: RegExp) => {
  let err: unknown;
  try {
    codec.decode(JSON.stringify(msg), false);
  } catch (e) {
    err = e;
  }
  assert.instance(err, UserError, `${JSON.stringify(msg)} must be refused`);
  assert.is((err as UserError).code, 'invalid_message');
  assert.match((err as UserError).message, re);
};

test('audio data given as an array or an object is invalid_message, not an internal error', () => {
  refuse({ type: 'audio', data: [1, 2, 3, 4] }, /data: must be a base64 string/);
  refuse({ type: 'audio', data: { length: 4 } }, /data: must be a base64 string/);
  const ok = codec.decode(JSON.stringify({ type: 'audio', data: Buffer.from([1, 2, 3, 4]).toString('base64') }), false) as {
    data: Uint8Array;
  };
  assert.equal([...ok.data], [1, 2, 3, 4]);
});

test('keys named like Object.prototype members are ignored like any unknown key; bad base64 is invalid_message', () => {
  const ping = codec.decode(JSON.stringify({ type: 'ping', id: 'a', constructor: 1, toString: 2 }), false) as { id: string };
  assert.is(ping.id, 'a');
  const start = codec.decode(
    JSON.stringify({ type: 'start', audio: { sampleRate: 16000, encoding: 's16le', channels: 1, hasOwnProperty: 1 } }),
    false,
  ) as { audio: { channels: number } };
  assert.is(start.audio.channels, 1);
  refuse({ type: 'audio', data: '!!!!' }, /invalid 'audio' message/);
});

test('integers out of their field range are refused instead of wrapping modulo 2^32', () => {
  const audio = { sampleRate: 16000, encoding: 's16le', channels: 1 };
  refuse({ type: 'start', audio: { ...audio, sampleRate: -4294951296 } }, /audio\.sampleRate: -4294951296 is out of range/);
  refuse({ type: 'start', audio: { ...audio, channels: 4294967297 } }, /audio\.channels: 4294967297 is out of range/);
  refuse({ type: 'start', audio, smoothing: [] }, /smoothing: must be an object/);
  const ok = codec.decode(JSON.stringify({ type: 'start', audio, hopMs: 500 }), false) as { hopMs: number; audio: { sampleRate: number } };
  assert.is(ok.hopMs, 500);
  assert.is(ok.audio.sampleRate, 16000);
});

test('a publisher refused during the handshake gets the coded error', async () => {
  // A stand-in server that answers the upgrade with an error at once, in the same packets.
  const wss = new WebSocketServer({ port: 0, handleProtocols: () => 'emostream.v1.json' });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (ws) => ws.send(JSON.stringify({ type: 'error', code: 'unauthorized', message: 'bad token', fatal: true })));
  const port = (wss.address() as { port: number }).port;
  try {
    for (let i = 0; i < 20; i++) {
      const err = await Publisher.connect({
        url: `ws://127.0.0.1:${port}`,
        audio: { sampleRate: 16000, encoding: 's16le', channels: 1 },
      }).catch((e) => e);
      assert.instance(err, UserError, String(err));
      assert.is(err.code, 'unauthorized');
    }
  } finally {
    for (const c of wss.clients) c.terminate();
    await new Promise((r) => wss.close(r));
  }
});

test.run();
