// Counts the feature frames of digital silence (all 400 samples exactly 0, at the front end's
// 160-sample hop) in every WAV under the given folders: how much of a corpus the window mean
// normalisation's digital-silence rule touches (docs/features.md).
//
//   node --import tsx scripts/count-digital-silence.ts DIR...
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadAudio16k } from '../src/dsp/load.js';
import { FRAME_LENGTH, FRAME_HOP } from '../src/dsp/types.js';

function* wavs(dir: string): Generator<string> {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* wavs(path);
    else if (/\.wav$/i.test(name)) yield path;
  }
}

for (const dir of process.argv.slice(2)) {
  let files = 0;
  let touched = 0;
  let silent = 0;
  let frames = 0;
  for (const path of wavs(dir)) {
    const x = await loadAudio16k(path);
    const zeros = new Int32Array(x.length + 1);
    for (let i = 0; i < x.length; i++) zeros[i + 1] = zeros[i] + (x[i] === 0 ? 1 : 0);
    let here = 0;
    for (let at = 0; at + FRAME_LENGTH <= x.length; at += FRAME_HOP, frames++)
      if (zeros[at + FRAME_LENGTH] - zeros[at] === FRAME_LENGTH) here++;
    files++;
    if (here) touched++;
    silent += here;
  }
  const share = frames ? ((100 * silent) / frames).toFixed(3) : '0';
  console.log(`${dir}: ${files} files, ${touched} with digital silence, ${silent} of ${frames} frames (${share} %)`);
}
