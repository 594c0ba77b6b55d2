// Opus on the wire: packets from a real encoder (libopus, through @evan/opus) decode back to
// the audio they came from; stereo keeps its channels; bad packets are refused with a code.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UserError } from '../src/errors.js';
import { OpusPacketDecoder } from '../src/ingest/opus.js';
import { encodeOpus } from './helpers/opus.js';

const RATE = 16000;
const FRAME = 320; // 20 ms

function tone(hz: number, n: number, amp = 0.4): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * hz * i) / RATE);
  return x;
}

/** Correlation of a with b delayed by `lag`, over b's middle. */
function corr(a: Float32Array, b: Float32Array, lag: number): number {
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 2000; i < b.length - 2000; i++) {
    const x = a[i],
      y = b[i + lag] ?? 0;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return ab / Math.sqrt(aa * bb);
}

/** The codec's delay (look-ahead) is not exported by the binding: find the best lag up to 30 ms. */
function aligned(a: Float32Array, b: Float32Array): { lag: number; c: number } {
  let best = { lag: 0, c: -1 };
  for (let lag = 0; lag <= 480; lag++) {
    const c = corr(a, b, lag);
    if (c > best.c) best = { lag, c };
  }
  return best;
}

function decodeAll(d: OpusPacketDecoder, packets: Uint8Array[]): Float32Array {
  const parts = packets.map((p) => d.push(p));
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

test("mono: a real encoder's packets decode to the tone they were made from (20 ms each)", async () => {
  const x = tone(440, RATE * 2);
  const packets = encodeOpus([x]);
  assert.is(packets.length, 100);
  const d = new OpusPacketDecoder(RATE, 1);
  await d.ready;
  const y = decodeAll(d, packets);
  assert.is(y.length, x.length, 'one 20 ms frame of samples per packet');
  // The codec delays by its look-ahead; past that the waveform is the tone's.
  const { lag, c } = aligned(x, y);
  assert.ok(c > 0.98, `correlation ${c.toFixed(3)} at a delay of ${lag} samples`);
  assert.ok(corr(x, y, lag + 18) < 0, 'and negative half a period off: it is the same waveform, not any tone');
  d.free();
});

test('stereo: each channel keeps its own content, interleaved', async () => {
  const left = tone(440, RATE);
  const right = new Float32Array(RATE); // silent
  const packets = encodeOpus([left, right]);
  const d = new OpusPacketDecoder(RATE, 2);
  await d.ready;
  const y = decodeAll(d, packets);
  const l = new Float32Array(y.length / 2);
  const r = new Float32Array(y.length / 2);
  for (let i = 0; i < l.length; i++) ((l[i] = y[2 * i]), (r[i] = y[2 * i + 1]));
  const { c, lag } = aligned(left, l);
  assert.ok(c > 0.95, `left is the tone (correlation ${c.toFixed(3)} at ${lag})`);
  const energy = (v: Float32Array) => v.reduce((s, a) => s + a * a, 0) / v.length;
  assert.ok(energy(r) < energy(l) / 100, `right stays quiet (${energy(r).toExponential(1)} vs ${energy(l).toExponential(1)})`);
  d.free();
});

test('decoding at 48 kHz gives 3× the samples of the same packets at 16 kHz', async () => {
  const packets = encodeOpus([tone(300, RATE / 2)]);
  const d = new OpusPacketDecoder(48000, 1);
  await d.ready;
  assert.is(decodeAll(d, packets).length, 3 * (RATE / 2));
  d.free();
});

test('empty and oversized packets, and rates or channels Opus has not, are coded errors', async () => {
  const d = new OpusPacketDecoder(RATE, 1);
  await d.ready;
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      assert.instance(e, UserError);
      return [(e as UserError).code, (e as UserError).message];
    }
    return ['none', ''];
  };
  assert.equal(code(() => d.push(new Uint8Array(0)))[0], 'opus_bad_packet');
  const [c, m] = code(() => d.push(new Uint8Array(5000)));
  assert.is(c, 'opus_bad_packet');
  assert.match(m, /5000 bytes is over the 3840-byte limit/);
  assert.equal(code(() => new OpusPacketDecoder(44100, 1))[0], 'unsupported_format');
  assert.equal(code(() => new OpusPacketDecoder(16000, 3))[0], 'unsupported_format');
  // The decoder is still good after refusing those.
  const packets = encodeOpus([tone(440, FRAME * 5)]);
  assert.is(decodeAll(d, packets).length, FRAME * 5);
  d.free();
  d.free(); // twice is harmless
});

test('a packet libopus rejects is a coded error and prints nothing on the server', async () => {
  const d = new OpusPacketDecoder(RATE, 1);
  await d.ready;
  const print = console.error;
  const printed: unknown[] = [];
  console.error = (...args: unknown[]) => printed.push(args);
  let code = 'none';
  try {
    d.push(Uint8Array.of(0x03, 0x00)); // code-3 packet declaring zero frames: invalid (RFC 6716 3.2.5)
  } catch (e) {
    code = (e as UserError).code;
  } finally {
    console.error = print;
  }
  assert.is(code, 'opus_bad_packet');
  assert.equal(printed, [], 'nothing written to stderr');
  assert.is(console.error, print, 'console.error restored');
  d.free();
});

test.run();
