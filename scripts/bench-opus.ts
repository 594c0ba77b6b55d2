// The cost of Opus on the wire, per stream: decoding 20 ms packets (one per message, as a
// WebRTC sender cuts them) with opus-decoder, at 16 kHz (what the front end wants) and 48 kHz
// (then resampled to 16 kHz by the server's resampler, also timed). Speech from RAVDESS is
// encoded once with libopus (@evan/opus); only decoding is timed. Usage:
//   node --import tsx scripts/bench-opus.ts [seconds of audio, default 120]
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Encoder } from '@evan/opus';
import { Resampler } from '../src/dsp/resample.js';
import { OpusPacketDecoder } from '../src/ingest/opus.js';
import { readWavFile } from '../src/ingest/wav.js';

const seconds = Number(process.argv[2] ?? 120);
const root = new URL('../../shared/data/ravdess/wav/', import.meta.url).pathname;

async function speech(rate: number): Promise<Int16Array> {
  const out = new Int16Array(seconds * rate);
  let at = 0;
  const files = readdirSync(root)
    .sort()
    .flatMap((actor) => readdirSync(join(root, actor)).map((f) => join(root, actor, f)));
  for (const f of files) {
    const w = await readWavFile(f);
    const x = w.format.sampleRate === rate ? w.samples : new Resampler(w.format.sampleRate, rate).process(w.samples);
    for (let i = 0; i < x.length && at < out.length; i++) out[at++] = Math.round(x[i] * 32767);
    if (at >= out.length) break;
  }
  return out;
}

function encode(pcm: Int16Array, rate: 16000 | 48000): Uint8Array[] {
  const enc = new Encoder({ channels: 1, sample_rate: rate, application: 'voip' });
  const frame = rate / 50;
  const packets: Uint8Array[] = [];
  for (let at = 0; at + frame <= pcm.length; at += frame) packets.push(Uint8Array.from(enc.encode(pcm.subarray(at, at + frame))));
  return packets;
}

for (const rate of [16000, 48000] as const) {
  const packets = encode(await speech(rate), rate);
  const bytes = packets.reduce((s, p) => s + p.length, 0);
  const d = new OpusPacketDecoder(rate, 1);
  await d.ready;
  const rs = rate === 16000 ? undefined : new Resampler(rate, 16000);
  for (const p of packets.slice(0, 200)) rs ? rs.process(d.push(p)) : d.push(p); // warm-up
  let decodeMs = 0;
  let resampleMs = 0;
  const cpu0 = process.cpuUsage();
  for (const p of packets) {
    const t0 = performance.now();
    const y = d.push(p);
    const t1 = performance.now();
    if (rs) rs.process(y);
    decodeMs += t1 - t0;
    resampleMs += performance.now() - t1;
  }
  const cpu = process.cpuUsage(cpu0);
  const audioS = packets.length / 50;
  const perS = decodeMs / audioS;
  // Wall time per packet is inflated on a busy machine; the process's CPU time is the cost.
  console.log(
    `${rate} Hz: ${packets.length} packets (${audioS} s, ${((bytes * 8) / audioS / 1000).toFixed(1)} kb/s): ` +
      `decode ${perS.toFixed(3)} ms per s of audio (${((perS / 1000) * 100).toFixed(2)} % of a core, ${Math.floor(1000 / perS)} streams per core)` +
      (rs ? `; + resample to 16 kHz ${(resampleMs / audioS).toFixed(3)} ms per s` : '') +
      `; process CPU ${((cpu.user + cpu.system) / 1000 / audioS).toFixed(3)} ms per s`,
  );
  d.free();
}
const before = process.memoryUsage();
const many = Array.from({ length: 100 }, () => new OpusPacketDecoder(16000, 1));
await Promise.all(many.map((d) => d.ready));
const after = process.memoryUsage();
console.log(`memory: ${((after.rss - before.rss) / 100 / 1024).toFixed(0)} KiB of RSS per decoder (100 decoders made)`);
many.forEach((d) => d.free());
