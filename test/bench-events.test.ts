// The events section end to end on three labelled files: a real server child process, one
// sequence streamed in real time, and numbers of the right shape (no timing is asserted).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dataTest } from './helpers/shared-data.js';
import { formatReport, runBench } from '../src/bench/run.js';
import { score, spread } from '../src/bench/events.js';
import { RAVDESS_DIR, ravdessLabel, stitch } from '../src/bench/sequences.js';

test('RAVDESS names: audio-only speech of the four emotions, with the actor', () => {
  assert.equal(ravdessLabel('Actor_14/03-01-05-02-01-01-14.wav'), { truth: 'angry', actor: 14 });
  assert.is(ravdessLabel('03-01-02-01-01-01-14.wav'), undefined); // calm: not a model label
  assert.is(ravdessLabel('03-02-05-01-01-01-14.wav'), undefined); // song
  assert.is(ravdessLabel('notes.wav'), undefined);
});

test('stitch: utterances at their spans with quiet gaps between', () => {
  const { samples, spans } = stitch([new Float32Array(1600).fill(0.5), new Float32Array(800).fill(0.5)], 16000, () => 0.5);
  assert.is(samples.length, 1600 + 16000 + 800 + 16000);
  assert.equal(spans, [
    { startMs: 0, endMs: 100 },
    { startMs: 1100, endMs: 1150 },
  ]);
  assert.is(samples[1600], 0);
  assert.is(samples[17600], 0.5);
});

test('score: UA is the mean per-class recall; spread: p50/p90', () => {
  const s = score([
    { truth: 'a', label: 'a' },
    { truth: 'a', label: 'a' },
    { truth: 'a', label: 'b' },
    { truth: 'b', label: undefined },
  ]);
  assert.equal([s.right, s.n, s.accuracy], [2, 4, 0.5]);
  assert.ok(Math.abs(s.ua - (2 / 3 + 0) / 2) < 1e-12);
  assert.equal(spread([5, 1, 4, 2, 3, 6, 7, 8, 9, 10]), { n: 10, p50: 5, p90: 9 });
});

dataTest(test, 'events section: three utterances through a real server, numbers of the right shape', [RAVDESS_DIR], async () => {
  const lines: string[] = [];
  const report = await runBench({
    quick: true,
    models: ['shipped'],
    sections: ['events'],
    threads: 1,
    maxBatch: 4,
    maxWaitMs: 0,
    log: (l) => lines.push(l),
    plan: { eventsFiles: 3 },
  });
  const e = report.events!;
  if ('error' in e) throw new Error(e.error);
  assert.equal([e.files, e.sequences, e.gapMs], [3, 1, 1000]);
  assert.is(e.unfinished, 0);
  assert.is(e.concurrency, 2);
  assert.ok(e.clientLagMs >= 0 && typeof e.errors === 'object');
  for (const s of [e.utteranceLevel, e.utteranceMessages, e.stateAfter1s]) {
    assert.is(s.n, 3);
    assert.ok(s.right >= 0 && s.right <= 3 && s.ua >= 0 && s.ua <= 1, JSON.stringify(s));
  }
  // Three utterances with 1 s of quiet between make at least one turn each.
  assert.ok(e.utteranceMessages.turns >= 3, JSON.stringify(e.utteranceMessages));
  assert.is(e.utteranceMessages.filesWithoutTurn, 0);
  for (const d of [e.utteranceDelayStreamMs, e.utteranceDelayWallMs]) {
    assert.is(d.n, e.utteranceMessages.turns);
    assert.ok(d.p50 > 0 && d.p90 >= d.p50, JSON.stringify(d));
  }
  assert.is(e.firstRightEventMs.n + e.firstRightEventMs.never, 3);
  assert.match(e.corpus, /not held out/);
  assert.match(formatReport(report), /### Events and turns: 3 utterances/);
});

test.run();
