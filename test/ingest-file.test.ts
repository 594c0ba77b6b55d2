import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UserError } from '../src/errors.js';
import { audioFile } from '../src/ingest/file.js';
import { decodeWav } from '../src/ingest/wav.js';
import { makeWav, rng } from './fixtures/wavgen.js';

const dir = mkdtempSync(join(tmpdir(), 'emostream-file-'));
const rand = rng(4);
const samples = Array.from({ length: 2 * 1001 }, () => rand() - 0.5);
const bytes = makeWav({ sampleRate: 22050, channels: 2, type: 'int', bits: 24, samples });
const path = join(dir, 'st.wav');
writeFileSync(path, bytes);

test('audioFile: chunks of chunkFrames frames that concatenate to the decoded file', async () => {
  const whole = decodeWav(bytes, path).samples;
  for (const chunkFrames of [1, 100, 1600, 5000]) {
    const chunks = await lastValueFrom(audioFile(path, { chunkFrames }).pipe(toArray()));
    assert.is(chunks.length, Math.ceil(1001 / chunkFrames));
    assert.ok(chunks.slice(0, -1).every((c) => c.samples.length === chunkFrames * 2));
    const all = Float32Array.from(chunks.flatMap((c) => Array.from(c.samples)));
    assert.equal(Array.from(all), Array.from(whole));
    assert.equal(chunks[0].format, { sampleRate: 22050, channels: 2 });
  }
});

test('audioFile: a missing file and a bad file fail with coded errors', async () => {
  for (const [p, code] of [
    [join(dir, 'nope.wav'), 'file_not_found'],
    [(writeFileSync(join(dir, 'bad.wav'), 'hello'), join(dir, 'bad.wav')), 'audio_unknown_format'],
  ]) {
    try {
      await lastValueFrom(audioFile(p));
      assert.unreachable();
    } catch (err) {
      assert.instance(err, UserError);
      assert.is((err as UserError).code, code);
    }
  }
});

test.run();
