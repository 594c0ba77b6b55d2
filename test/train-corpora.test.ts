// The corpus loaders on small trees in each corpus's native layout (names, folders, data.tsv),
// the leave-one-corpus-out folds, and the real prepared corpora where corpora/ exists.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ased, builtinCorpus, nemo, ravdessSong, turev, type Utterance } from '../src/train/corpus.js';
import { makeFolds } from '../src/train/protocols.js';
import { CORPORA, dataTest, sharedPath } from './helpers/shared-data.js';

const root = mkdtempSync(join(tmpdir(), 'emostream-corpora-'));
const touch = (rel: string, text = 'RIFF') => {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), text);
};

// nEMO: samples/ + data.tsv, speaker ids padded with spaces as in the release.
touch('corpora/nemo/samples/EB0_anger_1.wav');
touch('corpora/nemo/samples/WR0_surprised_64.wav');
touch('corpora/nemo/samples/KD0_sadness_3.wav');
touch('corpora/nemo/samples/KD0_fear_2.wav');
touch(
  'corpora/nemo/data.tsv',
  'file_id\temotion\traw_text\tnormalized_text\tspeaker_id\tgender\tage\n' +
    'WR0_surprised_64.wav\tsurprised\tUcho.\tucho\t        WR0\tmale\t23\n' +
    'EB0_anger_1.wav\tanger\tA.\ta\t        EB0\tfemale\t27\n' +
    'KD0_sadness_3.wav\tsadness\tB.\tb\t        KD0\tmale\t30\n' +
    'KD0_fear_2.wav\tfear\tC.\tc\t        KD0\tmale\t30\n',
);
// ASED: emotion folders, speaker in the fifth field, one upper-case prefix.
touch('corpora/ased/01Neutral/n1-01-01-01-25.wav');
touch('corpora/ased/02Fearful/f2-01-01-02-15.wav');
touch('corpora/ased/04Sad/S4-04-02-01-29.wav');
touch('corpora/ased/05Angry/a5-03-01-02-50.wav');
touch('corpora/ased/README.md', 'not audio');
// RAVDESS song: calm (02) and fearful (06) are left out.
touch('corpora/ravdess-song/Actor_01/03-02-01-01-01-01-01.wav');
touch('corpora/ravdess-song/Actor_01/03-02-02-01-01-01-01.wav');
touch('corpora/ravdess-song/Actor_24/03-02-05-02-02-02-24.wav');
// TurEV-DB: emotion folders, speaker prefix.
touch('corpora/turev/Angry/1157_kz_acik.wav');
touch('corpora/turev/Calm/1234_sk_acik.wav');
touch('corpora/turev/Sad/7895_hl_ogul1.wav');
// RAVDESS speech and Emo-DB, for the union.
touch('data/ravdess/wav/Actor_01/03-01-05-01-01-01-01.wav');
touch('data/ravdess/wav/Actor_02/03-01-03-01-01-01-02.wav');
touch('data/emodb/wav/03a01Wa.wav');
touch('data/emodb/wav/08a01Lb.wav');

const names = (us: Utterance[]) => us.map((u) => [u.path.slice(root.length + 1), u.speaker, u.label, u.corpus]);
const C = suite('corpora');
C.after(() => rmSync(root, { recursive: true, force: true }));

C('nEMO: data.tsv gives file, emotion and speaker; fear and surprise are left out', async () => {
  assert.equal(names(await nemo(join(root, 'corpora'))), [
    ['corpora/nemo/samples/EB0_anger_1.wav', 'nemo-EB0', 'angry', 'nemo'],
    ['corpora/nemo/samples/KD0_sadness_3.wav', 'nemo-KD0', 'sad', 'nemo'],
  ]);
});

C('ASED: the folder is the emotion, the fifth field the speaker; fearful is left out', async () => {
  assert.equal(names(await ased(join(root, 'corpora'))), [
    ['corpora/ased/01Neutral/n1-01-01-01-25.wav', 'ased-25', 'neutral', 'ased'],
    ['corpora/ased/04Sad/S4-04-02-01-29.wav', 'ased-29', 'sad', 'ased'],
    ['corpora/ased/05Angry/a5-03-01-02-50.wav', 'ased-50', 'angry', 'ased'],
  ]);
});

C('RAVDESS song shares its speaker ids with RAVDESS speech; TurEV-DB calm counts as neutral', async () => {
  assert.equal(names(await ravdessSong(join(root, 'corpora'))), [
    ['corpora/ravdess-song/Actor_01/03-02-01-01-01-01-01.wav', 'ravdess-01', 'neutral', 'ravdess-song'],
    ['corpora/ravdess-song/Actor_24/03-02-05-02-02-02-24.wav', 'ravdess-24', 'angry', 'ravdess-song'],
  ]);
  assert.equal(names(await turev(join(root, 'corpora'))), [
    ['corpora/turev/Angry/1157_kz_acik.wav', 'turev-1157', 'angry', 'turev'],
    ['corpora/turev/Calm/1234_sk_acik.wav', 'turev-1234', 'neutral', 'turev'],
    ['corpora/turev/Sad/7895_hl_ogul1.wav', 'turev-7895', 'sad', 'turev'],
  ]);
});

C('a missing corpus says where it was looked for and how to prepare it', async () => {
  const err = await nemo(join(root, 'nowhere')).catch((e) => e);
  assert.is(err.code, 'data_not_found');
  assert.match(err.message, /prepare-corpora\.sh/);
});

C('train4 joins the five training corpora in 4 classes; LOCO holds out each corpus, RAVDESS speech with its song', async () => {
  const c = await builtinCorpus('train4', { data: join(root, 'data'), corpora: join(root, 'corpora') });
  assert.equal(c.labels, ['angry', 'happy', 'sad', 'neutral']);
  assert.equal([...new Set(c.utterances.map((u) => u.corpus))].sort(), ['ased', 'emodb', 'nemo', 'ravdess', 'ravdess-song']);
  assert.not.ok(
    c.utterances.some((u) => u.label === 'bored'),
    'Emo-DB in 4 classes',
  );
  const folds = makeFolds('loco', c.utterances, { valFraction: 0 });
  assert.equal(
    folds.map((f) => f.name),
    ['corpus ased', 'corpus emodb', 'corpus nemo', 'corpus ravdess'],
  );
  for (const f of folds) {
    const held = f.name.split(' ')[1];
    assert.ok(f.test.length > 0 && f.test.every((i) => c.utterances[i].corpus === held), `${f.name}: test is the held-out corpus`);
    const trained = new Set(f.train.map((i) => c.utterances[i].corpus));
    assert.not.ok(trained.has(held), `${f.name}: not trained on`);
    if (held === 'ravdess') assert.not.ok(trained.has('ravdess-song'), 'the same actors singing are held out too');
    else assert.ok(trained.has('ravdess-song'));
  }
});

C('TurEV-DB is refused for training (a test set only)', () => {
  const repo = fileURLToPath(new URL('..', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'train', '--corpus', 'turev'], {
    cwd: repo,
    encoding: 'utf8',
  });
  assert.is(r.status, 2);
  assert.match(r.stderr, /error \[test_only_corpus\]/);
});

dataTest(C, 'the shared corpora load with their documented counts', [sharedPath('emodb/wav'), sharedPath('ravdess/wav')], async () => {
  assert.is((await builtinCorpus('emodb')).utterances.length, 535);
  assert.is((await builtinCorpus('ravdess')).utterances.length, 672);
});

dataTest(
  C,
  'the prepared corpora (scripts/prepare-corpora.sh) load with their documented counts',
  [join(CORPORA, 'nemo'), join(CORPORA, 'ased'), join(CORPORA, 'ravdess-song'), join(CORPORA, 'turev')],
  async () => {
    const count = async (n: 'nemo' | 'ased' | 'ravdess-song' | 'turev') => {
      const c = await builtinCorpus(n);
      return [c.utterances.length, new Set(c.utterances.map((u) => u.speaker)).size];
    };
    assert.equal(await count('nemo'), [3076, 9]);
    assert.equal(await count('ased'), [1964, 64]);
    assert.equal(await count('ravdess-song'), [644, 23]);
    assert.equal(await count('turev'), [1735, 6]);
  },
  { requiredInCi: false },
);

C.run();
