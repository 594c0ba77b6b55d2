import { from, lastValueFrom, toArray } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Resampler, resample } from '../src/dsp/resample.js';
import { downmix, toMono16k } from '../src/dsp/convert.js';
import type { AudioChunk } from '../src/ingest/types.js';
import { randomPieces, rng, tone } from './fixtures/wavgen.js';

function rms(x: ArrayLike<number>, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i] * x[i];
  return Math.sqrt(s / (to - from));
}

/** Least-squares fit of a·sin + b·cos at `freq`; returns fitted amplitude and the residual's RMS. */
function fitTone(x: Float32Array, rate: number, freq: number, from: number, to: number): { amp: number; residual: number } {
  let ss = 0,
    cc = 0,
    sc = 0,
    xs = 0,
    xc = 0;
  for (let n = from; n < to; n++) {
    const s = Math.sin((2 * Math.PI * freq * n) / rate),
      c = Math.cos((2 * Math.PI * freq * n) / rate);
    ss += s * s;
    cc += c * c;
    sc += s * c;
    xs += x[n] * s;
    xc += x[n] * c;
  }
  const det = ss * cc - sc * sc;
  const a = (xs * cc - xc * sc) / det,
    b = (xc * ss - xs * sc) / det;
  let r = 0;
  for (let n = from; n < to; n++) {
    const e = x[n] - a * Math.sin((2 * Math.PI * freq * n) / rate) - b * Math.cos((2 * Math.PI * freq * n) / rate);
    r += e * e;
  }
  return { amp: Math.hypot(a, b), residual: Math.sqrt(r / (to - from)) };
}

for (const inRate of [44100, 48000, 22050, 8000, 44101]) {
  test(`a 1 kHz tone keeps its frequency and level: ${inRate} Hz → 16 kHz`, () => {
    const x = tone(1000, inRate, 0.5, 0.5);
    const y = resample(x, inRate, 16000, { kernel: inRate === 22050 ? 'js' : 'auto' });
    assert.is(y.length, Math.ceil((x.length * 16000) / inRate));
    const edge = 200; // skip the filter's start/end transients
    const { amp, residual } = fitTone(y, 16000, 1000, edge, y.length - edge);
    assert.ok(Math.abs(amp - 0.5) < 0.5 * 0.01, `amplitude ${amp}`); // within 0.1 dB
    assert.ok(residual / (0.5 / Math.SQRT2) < 1e-3, `residual ${(20 * Math.log10(residual / (0.5 / Math.SQRT2))).toFixed(1)} dB`);
  });
}

test('a 6 kHz tone (in the pass band) is kept from 48 kHz and 44.1 kHz', () => {
  for (const inRate of [48000, 44100]) {
    const y = resample(tone(6000, inRate, 0.3, 0.5), inRate, 16000);
    const { amp, residual } = fitTone(y, 16000, 6000, 200, y.length - 200);
    assert.ok(Math.abs(amp - 0.5) < 0.5 * 0.012, `${inRate}: amplitude ${amp}`);
    assert.ok(residual < 1e-3, `${inRate}: residual ${residual}`);
  }
});

test('tones above 8 kHz are attenuated by at least 60 dB', () => {
  for (const inRate of [48000, 44100, 22050]) {
    for (const f of [8200, 9000, 10000, 12000, 20000]) {
      if (f >= inRate / 2) continue;
      const x = tone(f, inRate, 0.3, 0.5);
      for (const kernel of ['auto', 'js'] as const) {
        const y = resample(x, inRate, 16000, { kernel });
        const edge = 200;
        const db = 20 * Math.log10(rms(y, edge, y.length - edge) / rms(x));
        assert.ok(db < -60, `${f} Hz from ${inRate} Hz (${kernel}): ${db.toFixed(1)} dB`);
      }
    }
  }
});

test('a constant stays exactly constant (unit DC gain in every phase)', () => {
  const y = resample(new Float32Array(4410).fill(0.25), 44100, 16000);
  for (let i = 300; i < y.length - 300; i++) assert.ok(Math.abs(y[i] - 0.25) < 1e-6, `${i}: ${y[i]}`);
});

for (const kernel of ['auto', 'js'] as const) {
  for (const inRate of [44100, 48000, 22050, 8000]) {
    test(`streaming is bit-identical to whole-signal resampling for any chunking (${inRate} Hz, ${kernel} kernel)`, () => {
      const rand = rng(inRate);
      const x = new Float32Array(Math.round(inRate * 0.25));
      for (let i = 0; i < x.length; i++) x[i] = rand() * 2 - 1;
      const whole = resample(x, inRate, 16000, { kernel });
      for (const maxPiece of [1, 37, 700, 5000, 20000]) {
        if (maxPiece === 1 && inRate !== 8000) continue; // one sample at a time: once is enough
        const r = new Resampler(inRate, 16000, { kernel });
        const parts: number[] = [];
        let at = 0;
        for (const n of randomPieces(x.length, maxPiece, rand)) {
          parts.push(...r.process(x.subarray(at, at + n)));
          at += n;
        }
        parts.push(...r.flush());
        assert.is(parts.length, whole.length, `length with pieces ≤ ${maxPiece}`);
        for (let i = 0; i < whole.length; i++)
          if (parts[i] !== whole[i]) assert.unreachable(`sample ${i} differs with pieces ≤ ${maxPiece}`);
      }
    });
  }
}

test('the WebAssembly SIMD kernel is used where available and agrees with the JS kernel', () => {
  const r = new Resampler(48000, 16000);
  if (process.env.EMOSTREAM_NO_SIMD !== '1') assert.is(r.kernel, 'wasm-simd');
  assert.is(new Resampler(48000, 16000, { kernel: 'js' }).kernel, 'js');
  const rand = rng(77);
  for (const inRate of [48000, 44100, 8000]) {
    const x = new Float32Array(inRate / 5).map(() => rand() * 2 - 1);
    const a = resample(x, inRate, 16000);
    const b = resample(x, inRate, 16000, { kernel: 'js' });
    assert.is(a.length, b.length);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    assert.ok(worst < 1e-5, `${inRate}: max difference ${worst}`);
  }
});

test('toMono16k: stereo 44.1 kHz chunks → same as downmix + resample of the whole', async () => {
  const rand = rng(5);
  const frames = 9000;
  const st = new Float32Array(frames * 2);
  for (let i = 0; i < st.length; i++) st[i] = rand() - 0.5;
  const chunks: AudioChunk[] = [];
  let at = 0;
  for (const n of randomPieces(frames, 1500, rand)) {
    chunks.push({ format: { sampleRate: 44100, channels: 2 }, samples: st.subarray(at * 2, (at + n) * 2) });
    at += n;
  }
  const out = await lastValueFrom(from(chunks).pipe(toMono16k(), toArray()));
  const got = Float32Array.from(out.flatMap((c) => Array.from(c)));
  const want = resample(downmix(st, 2), 44100, 16000);
  assert.is(got.length, want.length);
  assert.ok(got.every((v, i) => v === want[i]));
});

test('toMono16k: 16 kHz mono passes through untouched; a format change is an error', async () => {
  const a = new Float32Array([0.1, 0.2, 0.3]);
  const out = await lastValueFrom(from([{ format: { sampleRate: 16000, channels: 1 }, samples: a }]).pipe(toMono16k(), toArray()));
  assert.is(out[0], a);
  try {
    await lastValueFrom(
      from([
        { format: { sampleRate: 16000, channels: 1 }, samples: a },
        { format: { sampleRate: 48000, channels: 1 }, samples: a },
      ]).pipe(toMono16k(), toArray()),
    );
    assert.unreachable();
  } catch (err) {
    assert.is((err as { code: string }).code, 'audio_format_changed');
  }
});

test('any declared rate costs a bounded filter table, and an odd rate still resamples accurately', () => {
  for (const rate of [8000, 8001, 11025, 44100, 96001, 176400, 191993, 191999, 192000]) {
    const d = new Resampler(rate, 16000).design;
    assert.ok(d.tableBytes <= 2.2e6, `${rate} Hz: ${(d.tableBytes / 1e6).toFixed(1)} MB table`);
  }
  // 1 kHz at 191 999 Hz (a 16000/191999 ratio, on a reduced phase grid) → 16 kHz, against the ideal tone.
  const n = 191999;
  const x = Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 191999));
  const y = resample(x, 191999, 16000);
  let err = 0,
    pow = 0;
  for (let i = 2000; i < y.length - 2000; i++) {
    const want = 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 16000);
    err += (y[i] - want) ** 2;
    pow += want ** 2;
  }
  const db = 10 * Math.log10(err / pow);
  assert.ok(db < -60, `error ${db.toFixed(1)} dB`);
});

test.run();
