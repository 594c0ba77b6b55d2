// A failure that is not the user's (here: the engine throws) reaches the user as internal_error
// with an incident id and without the internal message; the server log holds the detail under
// the same incident, and the server goes on serving.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Writable } from 'node:stream';
import pino from 'pino';
import { EmostreamServer } from '../src/server/server.js';
import { TestEngine } from './helpers/server-engine.js';
import { connect, sendChunks, toS16 } from './helpers/server-ws.js';

const START = { type: 'start' as const, audio: { sampleRate: 16000, encoding: 's16le' as const, channels: 1 }, hopMs: 500 };
const tone = (seconds: number) => Float32Array.from({ length: seconds * 16000 }, (_, i) => 0.3 * Math.sin(i / 10));

test('an engine failure: internal_error with an incident, the detail only in the log', async () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  const engine = new TestEngine();
  const server = new EmostreamServer({ engine, port: 0, logger: pino({ level: 'error' }, sink) });
  const { port } = await server.listen();
  try {
    engine.fail = true;
    const c = await connect(`ws://127.0.0.1:${port}/v1/stream`, 'json');
    c.send(START);
    await c.next('ready');
    sendChunks(c, toS16(tone(3.5)), 8000);
    const e = await c.next('error');
    assert.is(e.code, 'internal_error');
    assert.is(e.fatal, true);
    assert.not.match(e.message, 'test engine failure', 'the internal message stays in the log');
    const incident = /incident ([0-9a-f]{8})/.exec(e.message)?.[1];
    assert.ok(incident, `the message names an incident: ${e.message}`);
    const logged = lines.find((l) => l.incident === incident);
    assert.ok(logged, 'the log has the same incident');
    assert.match(JSON.stringify(logged), 'test engine failure');

    engine.fail = false;
    const d = await connect(`ws://127.0.0.1:${port}/v1/stream`, 'json');
    d.send(START);
    await d.next('ready');
    sendChunks(d, toS16(tone(3.5)), 8000);
    d.send({ type: 'stop' });
    assert.ok((await d.next('end')).windows >= 1, 'the server still serves');
  } finally {
    await server.close();
  }
});

test.run();
