// emostream-client as a stranger gets it: `npm pack` of packages/client (built from src/client and
// src/protocol), installed offline into an empty project from that tarball and the npm cache (the
// lockfile pins the versions this repository already installed), then a plain-Node script
// publishes and subscribes against a real server running models/basic-4; its types check too.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadEngine } from '../src/inference/load-engine.js';
import { EmostreamServer } from '../src/server/server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURE = join(ROOT, 'test/fixtures/client-package');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface LockEntry {
  version: string;
  dependencies?: Record<string, string>;
  [k: string]: unknown;
}

/** The installed entries of the root lockfile that `deps` need, at the same node_modules paths. */
function lockClosure(deps: Record<string, string>): Record<string, LockEntry> {
  const root = (JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> }).packages;
  const out: Record<string, LockEntry> = {};
  const add = (name: string, parent: string) => {
    const key = [parent && `${parent}/node_modules/${name}`, `node_modules/${name}`].find((k) => k && root[k]);
    if (!key) throw new Error(`${name} is not in package-lock.json`);
    if (out[key]) return;
    out[key] = root[key];
    for (const d of Object.keys(root[key].dependencies ?? {})) add(d, key);
  };
  for (const d of Object.keys(deps)) add(d, '');
  return out;
}

test('packed emostream-client installs offline into an empty project and publishes + subscribes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'emostream-client-pkg-'));
  const engine = await loadEngine(join(ROOT, 'models/basic-4'));
  const server = new EmostreamServer({ engine, port: 0 });
  try {
    const npm = (args: string[], cwd: string) => {
      const r = spawnSync(NPM, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
      assert.is(r.status, 0, `npm ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
      return r.stdout;
    };
    npm(['pack', '--pack-destination', dir], join(ROOT, 'packages/client'));
    const [tarball] = readdirSync(dir).filter((f) => f.endsWith('.tgz'));
    assert.is(tarball, 'emostream-client-0.1.0.tgz');
    const files = execFileSync('tar', ['tzf', join(dir, tarball)], { encoding: 'utf8' }).split('\n');
    for (const f of ['dist/client/index.js', 'dist/client/index.d.ts', 'dist/protocol/codec.js', 'proto/emostream.proto'])
      assert.ok(files.includes(`package/${f}`), `${f} is packed`);
    assert.not.ok(
      files.some((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')),
      'no TypeScript sources: it runs without tsx',
    );

    const app = join(dir, 'app');
    const client = JSON.parse(readFileSync(join(ROOT, 'packages/client/package.json'), 'utf8')) as LockEntry & {
      dependencies: Record<string, string>;
    };
    const spec = `file:../${tarball}`;
    mkdirSync(app);
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { 'emostream-client': spec } }),
    );
    writeFileSync(
      join(app, 'package-lock.json'),
      JSON.stringify({
        name: 'app',
        lockfileVersion: 3,
        requires: true,
        packages: {
          '': { name: 'app', dependencies: { 'emostream-client': spec } },
          'node_modules/emostream-client': { version: client.version, resolved: spec, dependencies: client.dependencies },
          ...lockClosure(client.dependencies),
        },
      }),
    );
    npm(['ci', '--offline', '--no-audit', '--no-fund'], app);
    const installed = readdirSync(join(app, 'node_modules'))
      .filter((f) => !f.startsWith('.'))
      .sort();
    assert.equal(installed, ['emostream-client', 'protobufjs', 'rxjs', 'tslib', 'ws'], 'no ONNX Runtime, no tfjs');

    copyFileSync(join(FIXTURE, 'app.mjs'), join(app, 'app.mjs'));
    copyFileSync(join(FIXTURE, 'app.ts'), join(app, 'app.ts'));
    const tsc = spawnSync(
      process.execPath,
      [
        join(ROOT, 'node_modules/typescript/bin/tsc'),
        '--noEmit',
        '--strict',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
      ].concat(['--target', 'es2022', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules/@types'), 'app.ts']),
      { cwd: app, encoding: 'utf8' },
    );
    assert.is(tsc.status, 0, `the package's types:\n${tsc.stdout}${tsc.stderr}`);

    const { port } = await server.listen();
    const run = await node(['app.mjs', `ws://127.0.0.1:${port}`], app);
    assert.is(run.code, 0, run.err);
    const got = JSON.parse(run.out) as Record<string, unknown>;
    assert.equal(got.labels, engine.labels);
    assert.ok((got.windows as number) > 0);
    assert.is(got.publisherPosteriors, got.windows);
    assert.is(got.subscriberPosteriors, got.windows);
    const types = got.subscriberTypes as string[];
    assert.is(types[0], 'ready');
    assert.is(types[types.length - 1], 'end');
    assert.is(got.badUrl, 'bad_url');

    // The complete example in docs/protocol.md, as printed there.
    const doc = readFileSync(join(ROOT, 'docs/protocol.md'), 'utf8');
    const example = /```js\n([\s\S]*?)```/.exec(doc.slice(doc.indexOf('## The client package')))![1];
    writeFileSync(join(app, 'watch.mjs'), example);
    const watch = await node(['watch.mjs', `ws://127.0.0.1:${port}`], app);
    assert.is(watch.code, 0, watch.err + watch.out);
    assert.match(watch.out, /^session \S+ labels angry, happy, sad, neutral$/m);
    assert.match(watch.out, /^window 0 /m, watch.out);
    assert.match(watch.out, /^end \d+ windows 4000 ms$/m);
  } finally {
    await server.close();
    await engine.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the server package's exports: 'emostream' (server, engine) and 'emostream/client', by name", async () => {
  // A package may import itself by its name through its exports map: what a dependent project sees.
  const script = `
    const { loadEngine, startServer } = await import('emostream');
    const { Publisher } = await import('emostream/client');
    const engine = await loadEngine('models/basic-4');
    const { server, port } = await startServer({ engine, port: 0 });
    const pub = await Publisher.connect({ url: 'ws://127.0.0.1:' + port, audio: { sampleRate: 16000, encoding: 'f32le', channels: 1 } });
    await pub.send(new Uint8Array(new Float32Array(16000 * 4).map((_, i) => 0.3 * Math.sin(i / 7)).buffer));
    const end = await pub.stop();
    console.log(JSON.stringify({ model: engine.model, windows: end.windows }));
    await server.close();
    await engine.dispose();`;
  const r = await node(['--input-type=module', '-e', script], ROOT);
  assert.is(r.code, 0, r.err);
  const got = JSON.parse(r.out) as { model: string; windows: number };
  assert.is(got.model, 'basic-4');
  assert.ok(got.windows > 0);
});

/** Runs node asynchronously: the server answering it lives in this process. */
function node(args: string[], cwd: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    // uvu sets FORCE_COLOR for itself; the script's console.log must print plain text.
    const c = spawn(process.execPath, args, { cwd, env: { ...process.env, FORCE_COLOR: '0' } });
    let out = '';
    let err = '';
    c.stdout.on('data', (b) => (out += b));
    c.stderr.on('data', (b) => (err += b));
    c.on('close', (code) => resolve({ code, out, err }));
  });
}

test.run();
