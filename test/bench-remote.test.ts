// `bench --url` and `--audio`: the latency section against a server that is already running
// (here an in-process server with the deterministic TestEngine), streaming audio files from a
// folder of our own (FLAC and MP3 fixtures) rather than Emo-DB. No timing is asserted.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { audioFiles, corpusSignal } from '../src/bench/corpus.js';
import { formatReport, remoteBase, runBench } from '../src/bench/run.js';
import { frameCount } from '../src/dsp/features.js';
import { windowCount } from '../src/dsp/windows.js';
import { EmostreamServer } from '../src/server/server.js';
import { TestEngine } from './helpers/server-engine.js';

const fx = (name: string) => fileURLToPath(new URL(`./fixtures/audio/${name}`, import.meta.url));

test('remoteBase: any spelling of a server address becomes ws(s)://host:port/', () => {
  assert.is(remoteBase('ws://h:1'), 'ws://h:1/');
  assert.is(remoteBase('ws://h:1/'), 'ws://h:1/');
  assert.is(remoteBase('wss://h/v1/stream'), 'wss://h/');
  assert.is(remoteBase('http://h:8080'), 'ws://h:8080/');
  assert.is(remoteBase('https://h'), 'wss://h/');
});

test('--audio DIR: the files under it, any depth and format, make the signal', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'emostream-bench-audio-'));
  try {
    mkdirSync(join(dir, 'sub'));
    copyFileSync(fx('tone.flac'), join(dir, 'a.flac'));
    copyFileSync(fx('tone.mp3'), join(dir, 'sub', 'b.mp3'));
    copyFileSync(fx('README.md'), join(dir, 'notes.md'));
    assert.equal(audioFiles(dir), [join(dir, 'a.flac'), join(dir, 'sub', 'b.mp3')]);
    const s = await corpusSignal(2, dir);
    assert.is(s.length, 32000); // 0.4 s files, repeated
    let e = 0;
    for (const v of s) e += v * v;
    assert.ok(Math.sqrt(e / s.length) > 0.3, 'the tones, not silence');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--url: the latency section measures a running server, with no model of ours prepared', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'emostream-bench-audio-'));
  const server = new EmostreamServer({ engine: new TestEngine(), port: 0 });
  const { port } = await server.listen();
  const url = `ws://127.0.0.1:${port}`;
  const lines: string[] = [];
  try {
    copyFileSync(fx('tone.flac'), join(dir, 'a.flac'));
    const report = await runBench({
      quick: true,
      models: ['shipped'],
      sections: ['latency', 'memory'],
      threads: 1,
      maxBatch: 4,
      maxWaitMs: 0,
      url,
      audioDir: dir,
      log: (l) => lines.push(l),
      plan: { latencyStreams: [2], audioSeconds: 3.5 },
    });
    assert.is(report.models.length, 0, 'no local model is built for a remote run');
    assert.is(report.remote, url);
    assert.is(report.audio, dir);
    assert.is(report.memory, undefined);
    assert.ok(lines.some((l) => /memory: not measured against a remote server/.test(l)));
    const [lat] = report.latency!;
    assert.is(lat.model, `remote ${url}`);
    assert.is(lat.result.windowsExpected, 2 * windowCount(frameCount(3.5 * 16000), { hopFrames: 100 }));
    assert.is(lat.result.windowsReceived, lat.result.windowsExpected);
    assert.is(lat.result.ended, 2);
    assert.match(formatReport(report), new RegExp(`server: ${url} \\(remote`));
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
