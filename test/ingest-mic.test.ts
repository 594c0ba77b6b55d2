// The microphone source, tested honestly: a fake recorder executable on PATH emits known PCM.
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, take, toArray } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UserError } from '../src/errors.js';
import { microphone } from '../src/ingest/mic.js';
import { waitGone } from './helpers/process.js';

const dir = mkdtempSync(join(tmpdir(), 'emostream-mic-'));
const originalPath = process.env.PATH;

/** Writes an executable `name` into a fresh bin dir; `body` is Node code run by the fake. */
function fakeRecorder(name: string, body: string): string {
  const bin = mkdtempSync(join(dir, 'bin-'));
  const file = join(bin, name);
  writeFileSync(
    file,
    `#!${process.execPath}\nconst fs = require('fs');\nfs.writeFileSync(${JSON.stringify(join(bin, 'args.json'))}, JSON.stringify(process.argv.slice(2)));\n${body}\n`,
  );
  chmodSync(file, 0o755);
  return bin;
}

async function withPath<T>(bin: string, fn: () => Promise<T>): Promise<T> {
  process.env.PATH = `${bin}:${originalPath}`;
  try {
    return await fn();
  } finally {
    process.env.PATH = originalPath;
  }
}

// 1000 s16le samples: i*31 - 15000, written in odd-sized pieces so samples split across writes.
const EMIT_KNOWN = `
const b = Buffer.alloc(2000);
for (let i = 0; i < 1000; i++) b.writeInt16LE(i * 31 - 15000, i * 2);
let at = 0;
const sizes = [1, 333, 2, 777, 887];
for (const s of sizes) { process.stdout.write(b.subarray(at, at + s)); at += s; }
`;

test('rec: known PCM from the fake recorder arrives decoded, in order, and the stream completes', async () => {
  const bin = fakeRecorder('rec', EMIT_KNOWN);
  const chunks = await withPath(bin, () => lastValueFrom(microphone({ sampleRate: 16000, channels: 1 }).pipe(toArray())));
  const all = chunks.flatMap((c) => Array.from(c.samples));
  assert.is(all.length, 1000);
  for (let i = 0; i < 1000; i++) assert.is(all[i], (i * 31 - 15000) / 32768);
  assert.ok(chunks.every((c) => c.format.sampleRate === 16000 && c.format.channels === 1));
  const args = JSON.parse(readFileSync(join(bin, 'args.json'), 'utf8')) as string[];
  assert.ok(args.join(' ').includes('-r 16000 -c 1'), args.join(' '));
  assert.ok(args.join(' ').includes('-t raw'), `raw PCM requested: ${args.join(' ')}`);
});

test('arecord: selected by option, stereo frames', async () => {
  const bin = fakeRecorder(
    'arecord',
    `const b = Buffer.alloc(8); b.writeInt16LE(100, 0); b.writeInt16LE(-100, 2); b.writeInt16LE(200, 4); b.writeInt16LE(-200, 6); process.stdout.write(b);`,
  );
  const chunks = await withPath(bin, () =>
    lastValueFrom(microphone({ recorder: 'arecord', channels: 2, sampleRate: 48000 }).pipe(toArray())),
  );
  assert.equal(
    chunks.flatMap((c) => Array.from(c.samples)),
    [100, -100, 200, -200].map((x) => x / 32768),
  );
  assert.equal(chunks[0].format, { sampleRate: 48000, channels: 2 });
});

test('a missing recorder binary gives recorder_missing saying what to install', async () => {
  const empty = mkdtempSync(join(dir, 'empty-'));
  process.env.PATH = empty;
  try {
    await lastValueFrom(microphone());
    assert.unreachable();
  } catch (err) {
    assert.instance(err, UserError);
    assert.is((err as UserError).code, 'recorder_missing');
    assert.match((err as UserError).message, /apt-get install sox/);
  } finally {
    process.env.PATH = originalPath;
  }
});

test('a recorder that fails reports its exit code and stderr', async () => {
  const bin = fakeRecorder(
    'rec',
    `process.stderr.write('rec FAIL formats: can\\'t open input \`default\`: no such device\\n'); process.exit(2);`,
  );
  try {
    await withPath(bin, () => lastValueFrom(microphone()));
    assert.unreachable();
  } catch (err) {
    assert.is((err as UserError).code, 'recorder_failed');
    assert.match((err as UserError).message, /code 2/);
    assert.match((err as UserError).message, /no such device/);
  }
});

test('unsubscribing stops the recorder process', async () => {
  const bin = fakeRecorder(
    'rec',
    `fs.writeFileSync(require('path').join(__dirname, 'pid'), String(process.pid));
setInterval(() => process.stdout.write(Buffer.alloc(320)), 5);`,
  );
  const chunks = await withPath(bin, () => lastValueFrom(microphone().pipe(take(3), toArray())));
  assert.is(chunks.length, 3);
  const pid = Number(readFileSync(join(bin, 'pid'), 'utf8'));
  assert.ok(await waitGone(pid, 50, 20), `recorder ${pid} still running`);
  assert.ok(existsSync(join(bin, 'args.json')));
});

test.run();
