// Counts, in every WAV under the given folders, the feature frames of digital silence (all 400
// samples exactly 0, at the front end's 160-sample hop), which the window mean normalisation
// drops, and the frames *near* the log floor (mean band log-mel within 0.5 of ln 1e-6, roughly
// below −87 dBFS), which it keeps and which make it depend on gain (docs/features.md).
//
//   node --import tsx scripts/count-digital-silence.ts [--gain=DB] [--limit N] DIR...
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { computeFeatures } from '../src/dsp/features.js';
import { loadAudio16k } from '../src/dsp/load.js';
import { LOG_FLOOR } from '../src/dsp/logmel.js';
import { FRAME_HOP, FRAME_LENGTH, FRAME_SIZE, N_CHANNELS, N_MELS } from '../src/dsp/types.js';

function* wavs(dir: string): Generator<string> {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* wavs(path);
    else if (/\.wav$/i.test(name)) yield path;
  }
}

const { values, positionals } = parseArgs({
  options: { gain: { type: 'string' }, limit: { type: 'string' } },
  allowPositionals: true,
});
const scale = 10 ** (Number(values.gain ?? 0) / 20);
const limit = values.limit === undefined ? Infinity : Number(values.limit);
const floor = Math.log(LOG_FLOOR);

for (const dir of positionals) {
  let files = 0;
  let touched = 0;
  let silent = 0;
  let near = 0;
  let frames = 0;
  for (const path of wavs(dir)) {
    if (files >= limit) break;
    const x = (await loadAudio16k(path)).map((v) => v * scale);
    const zeros = new Int32Array(x.length + 1);
    for (let i = 0; i < x.length; i++) zeros[i + 1] = zeros[i] + (x[i] === 0 ? 1 : 0);
    let here = 0;
    for (let at = 0; at + FRAME_LENGTH <= x.length; at += FRAME_HOP) if (zeros[at + FRAME_LENGTH] - zeros[at] === FRAME_LENGTH) here++;
    const f = computeFeatures(x);
    for (let t = 0; t < f.frames; t++) {
      let mean = 0;
      for (let m = 0; m < N_MELS; m++) mean += f.data[t * FRAME_SIZE + m * N_CHANNELS] / N_MELS;
      if (mean - floor < 0.5) near++;
    }
    frames += f.frames;
    files++;
    if (here) touched++;
    silent += here;
  }
  const pct = (k: number) => (frames ? ((100 * k) / frames).toFixed(3) : '0');
  console.log(
    `${dir}: ${files} files, ${touched} with digital silence, ${silent} of ${frames} frames (${pct(silent)} %); ` +
      `near the floor (digital silence included): ${near} (${pct(near)} %)`,
  );
}
