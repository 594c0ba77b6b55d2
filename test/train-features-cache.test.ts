// The feature cache must be invalidated by a change to any source that shapes features: every
// module the offline front end (file → 16 kHz mono → features) loads is under the folders its
// key hashes.
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FEATURE_SOURCE_DIRS, frontEndVersion } from '../src/train/features-cache.js';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

function closure(entries: string[]): Set<string> {
  const seen = new Set<string>();
  const queue = entries.map((e) => resolve(SRC, e));
  while (queue.length) {
    const f = queue.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?'(\.[^']+)'/g)) {
      queue.push(resolve(dirname(f), m[1]).replace(/\.js$/, '.ts'));
    }
  }
  return seen;
}

test('every source the offline front end loads is hashed into the cache key', () => {
  const files = [...closure(['dsp/load.ts', 'dsp/features.ts'])].map((f) => relative(SRC, f));
  // The WAV decoder, downmix, resampler and its FIR kernel are among them (they were once left out).
  for (const f of ['ingest/wav.ts', 'dsp/convert.ts', 'dsp/resample.ts', 'dsp/simd-fir.ts', 'dsp/logmel.ts'])
    assert.ok(files.includes(f), f);
  const outside = files.filter((f) => f !== 'errors.ts' && !FEATURE_SOURCE_DIRS.includes(f.split('/')[0]));
  assert.equal(outside, [], 'sources outside the hashed folders');
});

test('the key is a stable hash', () => {
  assert.match(frontEndVersion(), /^[0-9a-f]{12}$/);
  assert.is(frontEndVersion(), frontEndVersion());
});

test.run();
