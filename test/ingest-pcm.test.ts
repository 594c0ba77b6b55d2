import { Readable } from 'node:stream';
import { lastValueFrom, toArray } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UserError } from '../src/errors.js';
import { PcmDecoder, sanitize } from '../src/ingest/pcm.js';
import { rawPcm } from '../src/ingest/raw.js';
import { randomPieces, rng } from './fixtures/wavgen.js';

function s16le(values: number[]): Uint8Array {
  const b = new Uint8Array(values.length * 2);
  const v = new DataView(b.buffer);
  values.forEach((x, i) => v.setInt16(i * 2, x, true));
  return b;
}

function split(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const s of sizes) {
    out.push(bytes.subarray(at, at + s));
    at += s;
  }
  return out;
}

const ints = Array.from({ length: 301 * 2 }, (_, i) => ((i * 7919) % 65536) - 32768);

test('PcmDecoder s16le stereo: any byte split decodes to the same whole frames', () => {
  const bytes = s16le(ints);
  const rand = rng(3);
  for (let trial = 0; trial < 20; trial++) {
    const dec = new PcmDecoder('s16le', 2);
    const got: number[] = [];
    for (const piece of split(bytes, randomPieces(bytes.length, 9, rand))) {
      const out = dec.push(piece);
      assert.is(out.length % 2, 0, 'whole frames only');
      got.push(...out);
    }
    dec.end();
    assert.is(got.length, ints.length);
    for (let i = 0; i < ints.length; i++) assert.is(got[i], ints[i] / 32768);
  }
});

test('PcmDecoder f32le: one byte at a time', () => {
  const vals = [0.5, -0.25, 1e-3, -1, 0.75];
  const bytes = new Uint8Array(new Float32Array(vals).buffer);
  const dec = new PcmDecoder('f32le', 1);
  const got: number[] = [];
  for (const b of bytes) got.push(...dec.push(Uint8Array.of(b)));
  dec.end();
  assert.equal(got, vals.map(Math.fround));
});

test('PcmDecoder.end throws pcm_partial_sample when bytes are left over', () => {
  const dec = new PcmDecoder('s16le', 2);
  dec.push(new Uint8Array(7));
  assert.is(dec.pendingBytes, 3);
  try {
    dec.end();
    assert.unreachable();
  } catch (err) {
    assert.instance(err, UserError);
    assert.is((err as UserError).code, 'pcm_partial_sample');
    assert.ok((err as UserError).message.includes('3 leftover'));
  }
});

test('PcmDecoder rejects unknown encodings and bad channel counts', () => {
  assert.throws(
    () => new PcmDecoder('s24le' as 's16le'),
    (e: UserError) => e.code === 'pcm_bad_encoding',
  );
  assert.throws(
    () => new PcmDecoder('s16le', 0),
    (e: UserError) => e.code === 'pcm_bad_channels',
  );
});

test('rawPcm: chunks from a stream keep their declared format and values', async () => {
  const bytes = s16le(ints);
  const stream = Readable.from(split(bytes, randomPieces(bytes.length, 50, rng(11))).map((b) => Buffer.from(b)));
  const chunks = await lastValueFrom(rawPcm(stream, { encoding: 's16le', sampleRate: 8000, channels: 2 }).pipe(toArray()));
  const all = chunks.flatMap((c) => Array.from(c.samples));
  assert.ok(chunks.every((c) => c.format.sampleRate === 8000 && c.format.channels === 2));
  assert.equal(
    all,
    ints.map((x) => x / 32768),
  );
});

test('rawPcm: a stream cut inside a sample errors with pcm_partial_sample', async () => {
  const stream = Readable.from([Buffer.from([1, 2, 3])]);
  try {
    await lastValueFrom(rawPcm(stream, { encoding: 's16le', sampleRate: 16000, channels: 1 }).pipe(toArray()));
    assert.unreachable();
  } catch (err) {
    assert.is((err as UserError).code, 'pcm_partial_sample');
  }
});

test('f32le: PcmDecoder returns values as sent; sanitize() and rawPcm turn NaN/±Inf into 0', async () => {
  const bytes = new Uint8Array(new Float32Array([NaN, Infinity, -Infinity, 1.5, -0.5]).buffer);
  const raw = new PcmDecoder('f32le').push(bytes);
  assert.ok(Number.isNaN(raw[0]) && raw[1] === Infinity && raw[2] === -Infinity);
  assert.is(sanitize(raw), 3);
  assert.equal(Array.from(raw), [0, 0, 0, 1.5, -0.5]);
  const chunks = await lastValueFrom(
    rawPcm(Readable.from([Buffer.from(bytes)]), { encoding: 'f32le', sampleRate: 16000, channels: 1 }).pipe(toArray()),
  );
  assert.equal(Array.from(chunks[0].samples), [0, 0, 0, 1.5, -0.5]);
});

test('rawPcm: a stream destroyed without end still completes the audio', async () => {
  const stream = new Readable({ read() {} });
  const done = lastValueFrom(rawPcm(stream, { encoding: 's16le', sampleRate: 16000, channels: 1 }).pipe(toArray()));
  stream.push(Buffer.from([0, 64]));
  setTimeout(() => stream.destroy(), 5);
  const chunks = await done;
  assert.equal(Array.from(chunks[0].samples), [0.5]);
});

test.run();
