// Resource limits (issue #14, 3): connections are capped globally and per address and refused at
// the HTTP upgrade with a coded body; a publisher that never starts is closed with start_timeout.
import http from 'node:http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EmostreamServer, type ServerLimits } from '../src/server/server.js';
import { TestEngine } from './helpers/server-engine.js';
import { connect } from './helpers/server-ws.js';

async function serve(limits: Partial<ServerLimits>) {
  const server = new EmostreamServer({ engine: new TestEngine(), port: 0, limits });
  const { port } = await server.listen();
  return { server, base: `ws://127.0.0.1:${port}`, port };
}

/** The raw HTTP answer to a WebSocket upgrade request. */
function upgrade(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      port,
      path: '/v1/stream',
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('per-address cap: refused with 429 at the upgrade; a slot frees when a connection closes', async () => {
  const { server, base, port } = await serve({ maxConnectionsPerAddress: 2, startTimeoutMs: 0 });
  try {
    const a = await connect(`${base}/v1/stream`);
    const b = await connect(`${base}/v1/stream`);
    const refused = await upgrade(port);
    assert.is(refused.status, 429);
    assert.match(refused.body, /^too_many_connections: the address connection limit/);
    a.ws.close();
    await a.closed;
    const c = await connect(`${base}/v1/stream`);
    c.ws.close();
    b.ws.close();
    await Promise.all([b.closed, c.closed]);
  } finally {
    await server.close();
  }
});

test('global cap: refused with 503; /healthz still answers', async () => {
  const { server, base, port } = await serve({ maxConnections: 1, startTimeoutMs: 0 });
  try {
    const a = await connect(`${base}/v1/stream`);
    const refused = await upgrade(port);
    assert.is(refused.status, 503);
    assert.match(refused.body, /server connection limit/);
    const health = await new Promise<number>((r) =>
      http.get(`http://127.0.0.1:${port}/healthz`, (res) => (res.resume(), r(res.statusCode ?? 0))),
    );
    assert.is(health, 200);
    a.ws.close();
    await a.closed;
  } finally {
    await server.close();
  }
});

test("a publisher that never sends 'start' is closed with start_timeout; one that starts is not", async () => {
  const { server, base } = await serve({ startTimeoutMs: 150 });
  try {
    const idle = await connect(`${base}/v1/stream`);
    const err = await idle.next('error');
    assert.is(err.code, 'start_timeout');
    assert.is(err.fatal, true);
    assert.is((await idle.closed).code, 1008);
    const busy = await connect(`${base}/v1/stream`);
    busy.send({ type: 'start', audio: { sampleRate: 16000, encoding: 's16le', channels: 1 } });
    await busy.next('ready');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(busy.of('error'), []);
    busy.send({ type: 'stop' });
    await busy.next('end');
  } finally {
    await server.close();
  }
});

test('a burst of WebSocket pings is answered, not cut off (ws cut more than 60)', async () => {
  const { server, base } = await serve({ startTimeoutMs: 0 });
  try {
    const c = await connect(`${base}/v1/stream`);
    let pongs = 0;
    c.ws.on('pong', () => pongs++);
    for (let i = 0; i < 500; i++) c.ws.ping();
    c.send({ type: 'ping', id: 'after' });
    await c.next('pong');
    while (pongs < 500 && c.ws.readyState === c.ws.OPEN) await new Promise((r) => setTimeout(r, 10));
    assert.is(pongs, 500);
    assert.is(c.ws.readyState, c.ws.OPEN);
    c.ws.close();
    await c.closed;
  } finally {
    await server.close();
  }
});

test.run();
