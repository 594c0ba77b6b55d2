// Counts, in every WAV under the given folders, the feature frames of digital silence (all 400
// samples exactly 0: every band on the log floor), which the window mean normalisation drops,
// and the frames *near* the log floor (mean band log-mel within 0.5 of ln 1e-6, roughly
// below −87 dBFS), which it keeps and which make it depend on gain (docs/features.md).
//
//   node --import tsx scripts/count-digital-silence.ts [--gain=DB] [--limit N] DIR...
import { parseArgs } from 'node:util';
import { computeFeatures } from '../src/dsp/features.js';
import { loadAudio16k } from '../src/dsp/load.js';
import { LOG_FLOOR } from '../src/dsp/logmel.js';
import { isDigitalSilence } from '../src/dsp/normalize.js';
import { FRAME_SIZE, N_CHANNELS, N_MELS } from '../src/dsp/types.js';
import { wavFiles } from './trim-zero-edges.js';

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
  for (const path of wavFiles(dir)) {
    if (files >= limit) break;
    const f = computeFeatures((await loadAudio16k(path)).map((v) => v * scale));
    let here = 0;
    for (let t = 0; t < f.frames; t++) {
      // Frames are laid out as in a window, so the rule's own test applies.
      if (isDigitalSilence(f.data, t)) here++;
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
