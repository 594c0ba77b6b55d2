// https + wss (--tls-cert/--tls-key) with a self-signed certificate made here by openssl: the
// demo page and /healthz over https, a publisher and a subscriber over wss trusting it through
// the client's `ca`; an untrusted certificate is a coded error unless rejectUnauthorized is false;
// unreadable or mismatched files are refused before serving.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Publisher, subscribe } from '../src/client/client.js';
import { UserError } from '../src/errors.js';
import { resolveServeConfig } from '../src/server/config.js';
import { EmostreamServer } from '../src/server/server.js';
import { readTls } from '../src/server/tls.js';
import { TestEngine } from './helpers/server-engine.js';

const dir = mkdtempSync(join(tmpdir(), 'emostream-tls-'));
const CERT = join(dir, 'cert.pem');
const KEY = join(dir, 'key.pem');
const OTHER_KEY = join(dir, 'other-key.pem');
function selfSigned(cert: string, key: string): void {
  // Silent unless it fails: openssl writes progress to stderr.
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'].concat([
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      key,
      '-out',
      cert,
    ]),
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
}
selfSigned(CERT, KEY);
selfSigned(join(dir, 'other-cert.pem'), OTHER_KEY);
const CA = readFileSync(CERT);

function get(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

const T = suite<{ server: EmostreamServer; url: string; port: number }>('server over TLS');

T.before(async (ctx) => {
  ctx.server = new EmostreamServer({ engine: new TestEngine(), port: 0, tls: readTls({ certFile: CERT, keyFile: KEY }) });
  const { url, port } = await ctx.server.listen();
  ctx.url = url;
  ctx.port = port;
});
T.after(async (ctx) => {
  await ctx.server.close();
  rmSync(dir, { recursive: true, force: true });
});

T('https: the demo page (which picks wss:// itself) and /healthz', async ({ url, port }) => {
  assert.is(url, `https://127.0.0.1:${port}/`);
  const page = await get(url, CA);
  assert.is(page.status, 200);
  assert.match(page.body, 'demo.js');
  assert.match((await get(`${url}demo.js`, CA)).body, "location.protocol === 'https:' ? 'wss:' : 'ws:'");
  assert.is(JSON.parse((await get(`${url}healthz`, CA)).body).status, 'ok');
});

T('wss: a publisher and a subscriber trusting the certificate through `ca`', async ({ port }) => {
  const url = `wss://127.0.0.1:${port}`;
  const pub = await Publisher.connect({ url, ca: CA, session: 'tls-1', audio: { sampleRate: 16000, encoding: 'f32le', channels: 1 } });
  const got = lastValueFrom(subscribe('tls-1', { url, ca: CA, maxRetries: 0 }).pipe(toArray()));
  const x = new Float32Array(16000 * 4).map((_, i) => 0.3 * Math.sin(i / 7));
  await new Promise((r) => setTimeout(r, 300)); // let the subscriber join before the audio
  await pub.send(new Uint8Array(x.buffer));
  const end = await pub.stop();
  assert.ok(end.windows > 0);
  const msgs = await got;
  assert.is(msgs[0].type, 'ready');
  assert.is(msgs.filter((m) => m.type === 'posterior').length, end.windows);
  assert.is(msgs[msgs.length - 1].type, 'end');
});

T('an untrusted certificate is a coded error, not a retry loop; rejectUnauthorized: false accepts it', async ({ port }) => {
  const url = `wss://127.0.0.1:${port}`;
  const audio = { sampleRate: 16000, encoding: 'f32le' as const, channels: 1 };
  const err = await Publisher.connect({ url, audio }).catch((e: unknown) => e);
  assert.instance(err, UserError);
  assert.is((err as UserError).code, 'server_untrusted');
  assert.match((err as UserError).message, 'certificate');
  const sub = await lastValueFrom(subscribe('none', { url, maxRetries: 8 })).catch((e: unknown) => e);
  assert.is((sub as UserError).code, 'server_untrusted', 'not retried as unreachable');
  const pub = await Publisher.connect({ url, audio, rejectUnauthorized: false });
  assert.is(pub.ready.type, 'ready');
  await pub.stop();
});

T('--tls-cert/--tls-key: both or neither; unreadable or mismatched files are refused', () => {
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as UserError).code + ': ' + (e as Error).message;
    }
    return 'no error';
  };
  assert.match(
    code(() => resolveServeConfig({ 'tls-cert': CERT }, {})),
    /^bad_config: --tls-cert and --tls-key go together/,
  );
  assert.equal(resolveServeConfig({ 'tls-cert': CERT, 'tls-key': KEY }, {}).tls, { certFile: CERT, keyFile: KEY });
  assert.equal(resolveServeConfig({}, { EMOSTREAM_TLS_CERT: CERT, EMOSTREAM_TLS_KEY: KEY }).tls, { certFile: CERT, keyFile: KEY });
  assert.is(resolveServeConfig({}, {}).tls, undefined);
  assert.match(
    code(() => readTls({ certFile: join(dir, 'nope.pem'), keyFile: KEY })),
    /^bad_config: cannot read --tls-cert '.*nope\.pem'/,
  );
  assert.match(
    code(() => readTls({ certFile: CERT, keyFile: OTHER_KEY })),
    /^bad_config: --tls-cert .* are not a PEM certificate and its private key/,
  );
  assert.match(
    code(() => readTls({ certFile: KEY, keyFile: CERT })),
    /^bad_config: /,
  );
});

T.run();
