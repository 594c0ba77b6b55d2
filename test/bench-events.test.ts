// The events section end to end on three labelled files: a real server child process, one
// sequence streamed in real time, and numbers of the right shape (no timing is asserted).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dataTest } from './helpers/shared-data.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { formatReport, heldOutNote, runBench } from '../src/bench/run.js';
import { score, spread } from '../src/bench/events.js';
import { EMODB_DIR } from '../src/bench/corpus.js';
import { corpusFiles, RAVDESS_DIR, ravdessLabel, speakerFilter, stitch } from '../src/bench/sequences.js';

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

test("speakers lists: bare ids or the loaders' ids; RAVDESS actors with or without the leading zero", () => {
  const emodb = speakerFilter('emodb', '03, emodb-12')!;
  assert.equal(['emodb-03', 'emodb-12', 'emodb-08', 'ravdess-03'].map(emodb), [true, true, false, false]);
  const rav = speakerFilter('ravdess', '3,14')!;
  assert.equal(['ravdess-03', 'ravdess-14', 'ravdess-13'].map(rav), [true, true, false]);
  assert.is(speakerFilter('emodb', undefined), undefined);
  assert.throws(() => speakerFilter('emodb', ' , '), /speakers list is empty/);
});

test('corpusFiles: the training loaders, four labels, only the chosen speakers', async () => {
  const root = mkdtempSync(join(tmpdir(), 'emostream-events-corpus-'));
  try {
    const touch = (p: string) => {
      mkdirSync(join(root, p, '..'), { recursive: true });
      writeFileSync(join(root, p), '');
    };
    // Emo-DB: speaker 03 and 12; W angry, L bored (not one of the four), T sad.
    for (const f of ['03a01Wa.wav', '03a01La.wav', '12a02Ta.wav', '12b01Nb.wav']) touch(`data/emodb/wav/${f}`);
    for (const f of ['Calm/1234_sk_acik.wav', 'Angry/1157_kz_acik.wav']) touch(`corpora/turev/${f}`);
    const roots = { data: join(root, 'data'), corpora: join(root, 'corpora') };
    const emodb = await corpusFiles('emodb', { roots, speakers: speakerFilter('emodb', '12') });
    assert.equal(
      emodb.map((f) => [f.path.split('/').pop(), f.truth, f.speaker]),
      [
        ['12a02Ta.wav', 'sad', 'emodb-12'],
        ['12b01Nb.wav', 'neutral', 'emodb-12'],
      ],
    );
    const all = await corpusFiles('emodb', { roots });
    assert.equal(all.length, 3, 'bored is not one of the four labels');
    const turev = await corpusFiles('turev', { roots });
    assert.equal(
      turev.map((f) => [f.truth, f.speaker]),
      [
        ['angry', 'turev-1157'],
        ['neutral', 'turev-1234'],
      ],
    );
    const none = await corpusFiles('emodb', { roots, speakers: speakerFilter('emodb', '16') }).catch((e: Error) => e);
    assert.instance(none, Error);
    assert.match((none as Error).message, /no emodb utterances of the chosen speakers/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("heldOutNote: read from the model's recorded training", () => {
  const all = { corpus: 'train4', protocol: 'all', fold: 'all' };
  const loco = (c: string) => ({ corpus: 'train4', protocol: 'loco', fold: `corpus ${c}` });
  assert.match(heldOutNote(all, 'emodb'), /not held out/);
  assert.match(heldOutNote(all, 'turev'), /^held out: not among/);
  assert.match(heldOutNote(loco('emodb'), 'emodb'), /^held out: .*never heard emodb/);
  assert.match(heldOutNote(loco('emodb'), 'nemo'), /not held out/);
  assert.match(heldOutNote(loco('ravdess'), 'ravdess'), /RAVDESS song: not held out/);
  assert.match(heldOutNote(undefined, 'emodb'), /unknown/);
});

test('bench: a wrong --events-corpus or --events-files is a usage error, before anything runs', () => {
  for (const [args, msg] of [
    [['--events-corpus', 'timit'], /--events-corpus must be one of ravdess, emodb, turev, nemo, ased/],
    [['--events-files', '0'], /--events-files must be/],
  ] as const) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'bench', '--sections', 'events', ...args], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.is(r.status, 2, r.stderr);
    assert.match(r.stderr, msg);
  }
});

dataTest(test, 'events section on Emo-DB speakers, one file per session: the first event of each', [EMODB_DIR], async () => {
  const report = await runBench({
    quick: true,
    models: ['shipped'],
    sections: ['events'],
    threads: 1,
    maxBatch: 4,
    maxWaitMs: 0,
    log: () => {},
    plan: { eventsFiles: 2 },
    events: { corpus: 'emodb', speakers: '12,13', perSequence: 1 },
  });
  const e = report.events!;
  if ('error' in e) throw new Error(e.error);
  assert.equal([e.files, e.sequences, e.perSequence], [2, 2, 1]);
  assert.is(e.firstEvent.n, 2);
  assert.is(e.perFile.length, 2);
  for (const f of e.perFile) assert.match(f.path, /\/1[23][a-z]\d\d[WFTN][a-z]\.wav$/);
  // models/basic-4 was trained on Emo-DB: the report must not call it held out.
  assert.match(e.corpus, /^emodb speakers 12,13 \(seen in the model's training .*not held out\)/);
  assert.match(formatReport(report), /the session's first/);
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
  assert.is(e.firstEvent.n, 3);
  assert.match(formatReport(report), /### Events and turns: 3 utterances/);
});

test.run();
