// Decode speed of each compressed format, WebAssembly decoders against Debian's ffmpeg, through
// the same decodeAudioFile the CLI and the trainer use (times real time, wall clock, including
// ffmpeg's start-up). Needs ffmpeg to make the test files. docs/formats.md keeps the results.
//
//   npx tsx src/bench/decode.ts [--seconds 120] [--rate 44100 --channels 2]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeAudioFile, ffmpegCommand } from '../ingest/decode.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '120' },
    rate: { type: 'string', default: '44100' },
    channels: { type: 'string', default: '2' },
  },
});
const seconds = Number(values.seconds);
const rate = Number(values.rate);
const channels = Number(values.channels);

/** A speech-like test signal: pitched pulses through a moving formant, with pauses (no corpus needed). */
function signal(): Float32Array {
  const n = Math.round(seconds * rate);
  const out = new Float32Array(n * channels);
  let phase = 0;
  let seed = 1;
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const voiced = Math.sin(2 * Math.PI * 0.4 * t) > -0.3;
    phase += (120 + 30 * Math.sin(2 * Math.PI * 3 * t)) / rate;
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const x = voiced
      ? 0.3 * Math.sin(2 * Math.PI * phase) * Math.sin(2 * Math.PI * (500 + 300 * Math.sin(t)) * t)
      : 0.01 * (seed / 0x7fffffff - 0.5);
    for (let c = 0; c < channels; c++) out[i * channels + c] = x * (c === 0 ? 1 : 0.8);
  }
  return out;
}

/** CPU seconds of this process and of its finished children (ffmpeg): wall time on a shared machine says little. */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd on
  const ticks = Number(f[13]) + Number(f[14]); // cutime + cstime, in clock ticks (100 per second on Linux)
  return (user + system) / 1e6 + ticks / 100;
}

/** Decoding speed in times real time: [CPU time, wall clock]. */
async function time(path: string, ffmpegOnly: boolean): Promise<[number, number]> {
  const t0 = performance.now();
  const c0 = cpuSeconds();
  let decoded = 0; // seconds
  for await (const c of decodeAudioFile(path, { ffmpegOnly })) decoded += c.samples.length / c.format.channels / c.format.sampleRate;
  const cpu = cpuSeconds() - c0;
  const wall = (performance.now() - t0) / 1000;
  if (Math.abs(decoded - seconds) > 0.5) throw new Error(`${path}: decoded ${decoded.toFixed(2)} s, expected ${seconds}`);
  return [seconds / cpu, seconds / wall];
}

/** Best of two runs. */
async function best(path: string, ffmpegOnly: boolean): Promise<[number, number]> {
  const a = await time(path, ffmpegOnly);
  const b = await time(path, ffmpegOnly);
  return [Math.max(a[0], b[0]), Math.max(a[1], b[1])];
}

const dir = mkdtempSync(join(tmpdir(), 'emostream-decode-bench-'));
try {
  const pcm = signal();
  const raw = join(dir, 'in.f32');
  writeFileSync(raw, Buffer.from(pcm.buffer));
  const formats: [string, string[]][] = [
    ['wav', ['-c:a', 'pcm_s16le']],
    ['flac', ['-c:a', 'flac']],
    ['mp3', ['-c:a', 'libmp3lame', '-b:a', '128k']],
    ['opus', ['-c:a', 'libopus', '-b:a', '64k']],
    ['ogg', ['-c:a', 'libvorbis', '-q:a', '4']],
    ['m4a', ['-c:a', 'aac', '-b:a', '128k']],
  ];
  const ff = ffmpegCommand();
  console.log(`${seconds} s, ${rate} Hz, ${channels} channel(s); times real time, CPU time (wall clock), best of 2 runs`);
  console.log('| format | file MB | built-in decoder | ffmpeg |');
  console.log('|---|---|---|---|');
  for (const [ext, codec] of formats) {
    const file = join(dir, `t.${ext}`);
    execFileSync(ff, ['-v', 'error', '-y', '-f', 'f32le', '-ar', String(rate), '-ac', String(channels), '-i', raw, ...codec, file]);
    const mb = statSync(file).size / 2 ** 20;
    const builtin = ext === 'm4a' ? undefined : await best(file, false);
    const viaFfmpeg = await best(file, true);
    const f = (x?: [number, number]) => (x ? `${x[0].toFixed(0)}× (${x[1].toFixed(0)}×)` : '—');
    console.log(`| ${ext} | ${mb.toFixed(2)} | ${f(builtin)} | ${f(viaFfmpeg)} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
