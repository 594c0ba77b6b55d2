// Resource limits (issue #14, 3): connections are capped globally and per address and refused at
// the HTTP upgrade with a coded body; a publisher that never starts is closed with start_timeout.
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_LIMITS, EmostreamServer, FD_RESERVE, fitToFileLimit, type ServerLimits } from '../src/server/server.js';
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

/** Raw TCP connections that send nothing; resolves once they are all connected. */
async function idleSockets(port: number, n: number): Promise<{ sockets: net.Socket[]; closed: () => number }> {
  let closed = 0;
  const sockets = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(port, '127.0.0.1', () => resolve(s));
          s.on('error', reject);
          s.on('close', () => closed++);
        }),
    ),
  );
  for (const s of sockets) s.on('error', () => {});
  return { sockets, closed: () => closed };
}

function health(port: number): Promise<number> {
  return new Promise((resolve, reject) =>
    http
      .get(`http://127.0.0.1:${port}/healthz`, { agent: false }, (res) => (res.resume(), resolve(res.statusCode ?? 0)))
      .on('error', reject),
  );
}

test('idle sockets are capped: the oldest make room, /healthz answers, WebSockets are not counted', async () => {
  const { server, base, port } = await serve({ maxUnauthenticatedSockets: 4, startTimeoutMs: 0 });
  try {
    const ws = await Promise.all([1, 2, 3].map(() => connect(`${base}/v1/stream`)));
    const idle = await idleSockets(port, 10);
    while (idle.closed() < 6) await new Promise((r) => setTimeout(r, 10));
    assert.is(await health(port), 200);
    assert.ok((await server.metrics.value(server.metrics.socketsEvicted)) >= 7, 'six idle sockets, then one more for the health check');
    assert.is(idle.closed(), 7, 'the oldest went first: the health check pushed out one more');
    for (const c of ws) assert.is(c.ws.readyState, c.ws.OPEN, 'accepted WebSockets are not evicted');
    for (const s of idle.sockets) s.destroy();
    for (const c of ws) c.ws.close();
    await Promise.all(ws.map((c) => c.closed));
  } finally {
    await server.close();
  }
});

test('caps fit the open-file limit', () => {
  assert.is(fitToFileLimit(DEFAULT_LIMITS, undefined), DEFAULT_LIMITS);
  assert.is(fitToFileLimit(DEFAULT_LIMITS, 1 << 20), DEFAULT_LIMITS, 'room for everything: unchanged');
  const fit = fitToFileLimit(DEFAULT_LIMITS, 256);
  assert.is(fit.maxConnections + fit.maxUnauthenticatedSockets, 256 - FD_RESERVE);
  assert.ok(fit.maxConnections > fit.maxUnauthenticatedSockets, 'in proportion');
});

test('under a real open-file limit, sockets beyond the caps are refused and /healthz keeps answering', async () => {
  // ulimit -n 200: 136 descriptors for connections (FD_RESERVE kept free).
  const child = spawn('bash', ['-c', 'ulimit -n 200 && exec node --import tsx test/helpers/test-engine-server.ts'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const info = await new Promise<{ port: number; limits: ServerLimits }>((resolve) =>
      child.stdout.once('data', (d) => resolve(JSON.parse(String(d)))),
    );
    const { port, limits } = info;
    assert.is(limits.maxConnections + limits.maxUnauthenticatedSockets, 200 - FD_RESERVE);
    // Every WebSocket slot taken, then twice the idle-socket cap in idle sockets, then more.
    const base = `ws://127.0.0.1:${port}`;
    const ws = [];
    for (let i = 0; i < limits.maxConnections; i++) ws.push(await connect(`${base}/v1/stream`));
    const refused = await upgrade(port);
    assert.is(refused.status, 503);
    const idle = await idleSockets(port, 2 * limits.maxUnauthenticatedSockets);
    for (let i = 0; i < 5; i++) assert.is(await health(port), 200);
    assert.ok(idle.closed() >= limits.maxUnauthenticatedSockets, `oldest idle sockets closed (${idle.closed()})`);
    for (const c of ws) assert.is(c.ws.readyState, c.ws.OPEN);
    for (const s of idle.sockets) s.destroy();
    for (const c of ws) c.ws.terminate();
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
});

test.run();
