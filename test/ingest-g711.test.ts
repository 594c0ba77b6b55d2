// G.711 μ-law and A-law decoding, checked against the reference encoder (Sun's g711.c, written
// out independently, test/helpers/g711.ts): every code decodes to a value the encoder maps back to that code,
// the published end points hold, and the decoder serves both laws in a stream.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { alawToLinear, G711_TABLES, ulawToLinear } from '../src/ingest/g711.js';
import { PcmDecoder } from '../src/ingest/pcm.js';
import { linear2alaw, linear2ulaw } from './helpers/g711.js';

test('every μ-law and A-law code decodes to a value the reference encoder maps back to it', () => {
  for (let c = 0; c < 256; c++) {
    const u = ulawToLinear(c);
    // 0x7F is μ-law's "negative zero": it decodes to 0, which encodes as 0xFF.
    assert.is(linear2ulaw(u), c === 0x7f ? 0xff : c, `μ-law ${c.toString(16)} → ${u}`);
    const a = alawToLinear(c);
    assert.is(linear2alaw(a), c, `A-law ${c.toString(16)} → ${a}`);
  }
});

test('published end points and symmetry', () => {
  assert.is(ulawToLinear(0xff), 0);
  assert.is(ulawToLinear(0x80), 32124);
  assert.is(ulawToLinear(0x00), -32124);
  assert.is(alawToLinear(0xd5), 8);
  assert.is(alawToLinear(0x55), -8);
  assert.is(alawToLinear(0xaa), 32256);
  assert.is(alawToLinear(0x2a), -32256);
  for (let c = 0; c < 128; c++) {
    assert.is(ulawToLinear(c), -ulawToLinear(c | 0x80));
    assert.is(alawToLinear(c), -alawToLinear(c | 0x80));
  }
});

test('the stream decoder serves both laws, one byte per sample, interleaved channels', () => {
  const bytes = Uint8Array.from([0xff, 0x80, 0x00, 0x7f]);
  assert.equal(
    [...new PcmDecoder('mulaw', 2).push(bytes)],
    [...bytes].map((b) => G711_TABLES.mulaw[b]),
  );
  const d = new PcmDecoder('alaw', 1);
  assert.equal([...d.push(Uint8Array.of(0xd5)), ...d.push(Uint8Array.of(0xaa))], [8 / 32768, 32256 / 32768]);
  d.end();
});

test.run();
