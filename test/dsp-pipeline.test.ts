// The whole streaming front end as the server wires it — audioFile → toMono16k → logMelFeatures →
// featureWindows — against the offline path (loadAudio16k → computeFeatures → planWindows).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { computeFeatures, logMelFeatures } from '../src/dsp/features.js';
import { FRAME_SIZE, WINDOW_FRAMES } from '../src/dsp/types.js';
import { featureWindows, planWindows } from '../src/dsp/windows.js';
import { toMono16k } from '../src/dsp/convert.js';
import { audioFile } from '../src/ingest/file.js';
import { loadAudio16k } from '../src/dsp/load.js';
import { makeWav, rng } from './fixtures/wavgen.js';

const dir = mkdtempSync(join(tmpdir(), 'emostream-pipe-'));

for (const [rate, channels, seconds, chunkFrames] of [
  [48000, 2, 4.37, 960],
  [16000, 1, 3.21, 321],
  [22050, 1, 1.5, 4410],
] as const) {
  test(`${rate} Hz × ${channels}, ${seconds} s in ${chunkFrames}-frame chunks: streamed windows = offline windows`, async () => {
    const rand = rng(rate);
    const n = Math.round(rate * seconds) * channels;
    const x = Array.from({ length: n }, (_, i) => 0.3 * Math.sin(i * 0.013) + 0.1 * (rand() - 0.5));
    const path = join(dir, `${rate}.wav`);
    writeFileSync(path, makeWav({ sampleRate: rate, channels, type: 'int', bits: 16, samples: x }));

    const opts = { hopFrames: 100, minFrames: 50 };
    const windows = await lastValueFrom(
      audioFile(path, { chunkFrames }).pipe(toMono16k(), logMelFeatures(), featureWindows(opts), toArray()),
    );
    const offline = computeFeatures(await loadAudio16k(path));
    const plan = planWindows(offline.frames, opts);
    assert.is(windows.length, plan.length);
    windows.forEach((w, i) => {
      assert.equal([w.startFrame, w.endFrame, w.early ?? false], [plan[i].startFrame, plan[i].endFrame, plan[i].early]);
      for (let r = 0; r < WINDOW_FRAMES; r++) {
        for (let j = 0; j < FRAME_SIZE; j += 7) {
          const want = r < w.validFrames ? offline.data[(w.startFrame + r) * FRAME_SIZE + j] : 0;
          if (!(Math.abs(w.data[r * FRAME_SIZE + j] - want) <= 1e-5))
            assert.unreachable(`window ${i} row ${r} value ${j}: ${w.data[r * FRAME_SIZE + j]} vs ${want}`);
        }
      }
    });
  });
}

test.run();
