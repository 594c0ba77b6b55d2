// A bounded fuzz run over the categories the issue #14 probes used (85 753 malformed messages
// then): malformed JSON and protobuf frames, wrong field types, huge and wrapping integers, odd
// sample rates, and peers killed mid-stream. Every error a client gets must carry a code from
// docs/protocol.md's error table (never internal_error, never a stack trace), the process must
// see no uncaught exception, and the server must end empty and still serve. Seeded: the same
// cases every run; a few hundred connections, a few seconds.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { clientCodec } from '../src/protocol/codec.js';
import { EmostreamServer } from '../src/server/server.js';
import { rng } from './fixtures/wavgen.js';
import { TestEngine } from './helpers/server-engine.js';
import { connect, type Conn } from './helpers/server-ws.js';

const SEED = 14;
const CASES = 160;
/** Cases run at once. */
const PARALLEL = 16;

/** Every code the protocol documents (its error table). */
const DOCUMENTED = new Set(
  [...readFileSync(new URL('../docs/protocol.md', import.meta.url), 'utf8').matchAll(/^\| `([a-z_]+)`/gm)].map((m) => m[1]),
);

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const bytes = (r: Rand, n: number) => Uint8Array.from({ length: n }, () => Math.floor(r() * 256));

const WEIRD_VALUES: unknown[] = [
  null,
  true,
  'x',
  '16000',
  [],
  [1, 2],
  {},
  { length: 4 },
  -1,
  0,
  0.5,
  -0,
  1e308,
  -1e308,
  2 ** 32 + 16000,
  -4294951296,
  2 ** 53 + 1,
  4294967297,
  Number.MAX_SAFE_INTEGER,
];
const RATES = [1, 7999, 8000, 8001, 11025, 22050, 44100, 48000, 96000, 191999, 192000, 192001, 4294967295];
const ENCODINGS = ['s16le', 'f32le', 'mulaw', 'alaw', 'opus', 'S16LE', '', 'pcm'];

function validStart(r: Rand): Record<string, unknown> {
  return {
    type: 'start',
    audio: { sampleRate: pick(r, [8000, 16000, 44100]), encoding: pick(r, ['s16le', 'f32le']), channels: pick(r, [1, 2]) },
    hopMs: pick(r, [100, 500, 1000]),
  };
}

/** A start with one field (possibly nested) replaced by a weird value. */
function mutatedStart(r: Rand): Record<string, unknown> {
  const s = validStart(r) as { audio: Record<string, unknown> } & Record<string, unknown>;
  const v = pick(r, WEIRD_VALUES);
  const where = pick(r, [
    'sampleRate',
    'channels',
    'encoding',
    'audio',
    'hopMs',
    'minWindowMs',
    'posteriors',
    'smoothing',
    'session',
    'channelMode',
    'smoothing.margin',
  ]);
  if (where === 'sampleRate' || where === 'channels' || where === 'encoding') s.audio[where] = v;
  else if (where === 'smoothing.margin') s.smoothing = { margin: v };
  else s[where] = v;
  return s;
}

/** One fuzz case on its own connection: send what the case sends, maybe kill the peer. */
async function runCase(base: string, r: Rand, errors: { code: string; message: string; fatal: boolean; where: string }[]): Promise<void> {
  const kind = pick(r, [
    'json-garbage',
    'json-shape',
    'proto-garbage',
    'proto-mutated',
    'wrong-types',
    'rates',
    'killed',
    'killed-subscriber',
  ]);
  const encoding = kind.startsWith('proto') ? 'proto' : pick(r, ['json', 'proto'] as const);
  let c: Conn;
  try {
    c = await connect(`${base}/v1/stream`, encoding);
  } catch (err) {
    throw new Error(`${kind}: could not connect: ${(err as Error).message}`);
  }
  const raw = (data: Uint8Array | string, binary: boolean) => c.ws.send(data, { binary });
  /** Any message object as its encoding carries it (as JSON text however odd; protobuf only where it encodes at all). */
  const send = (msg: Record<string, unknown>) => {
    if (encoding === 'json') return raw(JSON.stringify(msg), false);
    try {
      raw(clientCodec('proto').encode(msg as never) as Uint8Array, true);
    } catch {
      /* not representable in protobuf */
    }
  };
  switch (kind) {
    case 'json-garbage':
      for (let i = 0; i < 4; i++) {
        const b = bytes(r, 1 + Math.floor(r() * 64));
        raw(
          pick(r, [Buffer.from(b).toString('latin1'), '{', '[]', 'null', '42', '"start"', '{"type":7}', '{"type":"nope"}', '\u0000{}']),
          false,
        );
      }
      break;
    case 'json-shape': {
      const msg = pick(r, [
        { type: 'audio', data: pick(r, WEIRD_VALUES) },
        { type: 'ping', id: pick(r, WEIRD_VALUES) },
        { type: 'flush', extra: pick(r, WEIRD_VALUES) },
        { type: 'start', audio: pick(r, WEIRD_VALUES) },
        { type: 'constructor' },
        { type: '__proto__' },
      ]);
      raw(JSON.stringify(msg), false);
      raw(JSON.stringify(validStart(r)).slice(0, Math.floor(r() * 40)), false); // truncated
      break;
    }
    case 'proto-garbage':
      for (let i = 0; i < 4; i++) raw(bytes(r, 1 + Math.floor(r() * 64)), true);
      raw('text on a protobuf connection', false);
      break;
    case 'proto-mutated': {
      const good = clientCodec('proto').encode(validStart(r) as never) as Uint8Array;
      for (let i = 0; i < 4; i++) {
        const m = Uint8Array.from(good);
        for (let k = 0; k < 1 + Math.floor(r() * 3); k++) m[Math.floor(r() * m.length)] ^= 1 << Math.floor(r() * 8);
        raw(r() < 0.3 ? m.subarray(0, Math.floor(r() * m.length)) : m, true);
      }
      break;
    }
    case 'wrong-types':
      for (let i = 0; i < 3; i++) send(mutatedStart(r));
      break;
    case 'rates': {
      const start = validStart(r) as { audio: Record<string, unknown> };
      start.audio = { sampleRate: pick(r, RATES), encoding: pick(r, ENCODINGS), channels: pick(r, [0, 1, 2, 8, 9]) };
      send(start);
      c.send({ type: 'audio', data: bytes(r, pick(r, [1, 2, 3, 333, 4096])) });
      break;
    }
    case 'killed':
    case 'killed-subscriber': {
      c.send(validStart(r) as never);
      const ready = await c.next('ready');
      const sub = kind === 'killed-subscriber' ? await connect(`${base}/v1/subscribe/${ready.session}`) : undefined;
      c.send({ type: 'audio', data: bytes(r, 2 * Math.floor(r() * 16000)) });
      await new Promise((res) => setTimeout(res, Math.floor(r() * 30)));
      if (sub) {
        sub.ws.terminate();
        c.send({ type: 'stop' });
        await c.next('end');
      } else c.ws.terminate();
      break;
    }
  }
  if (c.ws.readyState === c.ws.OPEN) {
    // Everything sent so far has been answered once this pong is back.
    c.send({ type: 'ping', id: 'last' });
    await c.next('pong').catch(() => undefined);
    c.ws.terminate();
  }
  await c.closed;
  for (const m of c.of('error')) errors.push({ code: m.code, message: m.message, fatal: m.fatal, where: kind });
}

test(`fuzz: ${CASES} seeded cases, every error coded and documented, no crash`, async () => {
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  const server = new EmostreamServer({ engine: new TestEngine(), port: 0, limits: { maxMessageBytes: 64 << 10, startTimeoutMs: 2000 } });
  const { port } = await server.listen();
  const base = `ws://127.0.0.1:${port}`;
  const errors: { code: string; message: string; fatal: boolean; where: string }[] = [];
  try {
    const r = rng(SEED);
    const cases = Array.from({ length: CASES }, () => rng(Math.floor(r() * 2 ** 31)));
    for (let i = 0; i < cases.length; i += PARALLEL) await Promise.all(cases.slice(i, i + PARALLEL).map((cr) => runCase(base, cr, errors)));
    assert.ok(errors.length > CASES / 2, `the cases provoked errors (${errors.length})`);
    const undocumented = errors.filter((e) => !DOCUMENTED.has(e.code) || e.code === 'internal_error');
    assert.equal(undocumented, [], 'every error has a documented code');
    const traces = errors.filter((e) => /\n\s+at /.test(e.message));
    assert.equal(traces, [], 'no stack traces');
    assert.equal(uncaught, []);
    const deadline = Date.now() + 5000;
    while (server.sessionIds().length > 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    assert.equal(server.sessionIds(), [], 'every killed or finished session is gone');
    // Still serving.
    const c = await connect(`${base}/v1/stream`);
    c.send({ type: 'start', audio: { sampleRate: 16000, encoding: 'f32le', channels: 1 } });
    await c.next('ready');
    for (let i = 0; i < 4; i++) c.send({ type: 'audio', data: new Uint8Array(4 * 12800) }); // 3.2 s
    c.send({ type: 'stop' });
    assert.ok((await c.next('end')).windows >= 1);
  } finally {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
    await server.close();
  }
});

test.run();
