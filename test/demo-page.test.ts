// The demo page for real, in headless Chromium: Chromium's fake microphone plays an Emo-DB WAV
// file into getUserMedia, the page streams it through its AudioWorklet to the server, and the
// posteriors it receives are drawn. Then a WAV file goes through the drop zone's file input.
// Screenshots land in runs/ (git-ignored).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import { dataTest } from './helpers/shared-data.js';
import * as assert from 'uvu/assert';
import type { Engine } from '../src/inference/engine.js';
import { loadEngine } from '../src/inference/load-engine.js';
import { EmostreamServer } from '../src/server/server.js';
import { readWavFile } from '../src/ingest/wav.js';
import { makeWav } from './fixtures/wavgen.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const WAV = fileURLToPath(new URL('../../shared/data/emodb/wav/03a01Wa.wav', import.meta.url));
const WAV2 = fileURLToPath(new URL('../../shared/data/emodb/wav/03a04Ta.wav', import.meta.url));
const MODEL = fileURLToPath(new URL('../models/basic-4', import.meta.url));
const RUNS = fileURLToPath(new URL('../runs/', import.meta.url));

interface PageState {
  session: string | null;
  end: { windows: number; audioMs: number } | null;
  posteriors: { seq: number; probs: Record<string, number> }[];
  labels: string[];
  tracks: { turns: Turn[]; posteriors: unknown[] }[];
  streamMs: number;
}
interface Turn {
  channel: number;
  startMs: number;
  endMs: number;
  label: string;
  confidence: number;
  probs: Record<string, number>;
}
declare global {
  interface Window {
    emostream: PageState;
  }
}

const D = suite('demo page in Chromium');

dataTest(D, 'fake microphone → AudioWorklet → server → posteriors on the chart; WAV drop zone too', [CHROMIUM, WAV], async () => {
  const { chromium } = await import('playwright-core');
  const engine: Engine = await loadEngine(MODEL);
  const server = new EmostreamServer({ engine, port: 0 });
  const { url } = await server.listen();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${WAV}`,
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 720 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(url);
    await page.waitForFunction(() => /ready/.test(document.getElementById('status')!.textContent ?? ''));
    await page.click('#mic');
    // First window after 1 s of audio (early window), then one every 500 ms.
    await page.waitForFunction(() => window.emostream.posteriors.length >= 3, null, { timeout: 30000 });
    const mic = await page.evaluate(() => ({
      n: window.emostream.posteriors.length,
      labels: window.emostream.labels,
      status: document.getElementById('status')!.textContent,
    }));
    assert.equal(mic.labels, ['angry', 'happy', 'sad', 'neutral']);
    assert.match(mic.status ?? '', 'microphone');
    const first = await page.evaluate(() => window.emostream.posteriors[0]);
    const sum = Object.values(first.probs).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-4);
    mkdirSync(RUNS, { recursive: true });
    await page.screenshot({ path: `${RUNS}demo-mic.png` });
    assert.equal(server.sessionIds().length, 1, 'the page publishes one session');

    // A second page watches that session (?subscribe=<id>): it gets the current state, then more.
    const session = await page.evaluate(() => window.emostream.session!);
    const watcher = await browser.newPage({ viewport: { width: 1200, height: 720 } });
    watcher.on('pageerror', (e) => pageErrors.push(e.message));
    await watcher.goto(`${url}?subscribe=${session}`);
    await watcher.waitForFunction(() => window.emostream.posteriors.length >= 2, null, { timeout: 30000 });
    assert.match((await watcher.textContent('#status')) ?? '', `watching → session ${session}`);
    await watcher.screenshot({ path: `${RUNS}demo-watch.png` });

    await page.click('#stop');
    await page.waitForFunction(() => (document.getElementById('mic') as HTMLButtonElement).disabled === false);
    await page.check('#fast');
    await page.setInputFiles('#file', WAV);
    await page.waitForFunction(() => /03a01Wa\.wav/.test(document.getElementById('status')!.textContent ?? ''), null, { timeout: 15000 });
    await page.waitForFunction(() => window.emostream.end !== null, null, { timeout: 30000 });
    const file = await page.evaluate(() => ({ n: window.emostream.posteriors.length, end: window.emostream.end! }));
    // Hop 500 ms, early window at 1 s: windows every 500 ms, then the tail.
    assert.ok(file.n >= 2, `the file gave posteriors (${file.n})`);
    assert.is(file.end.windows, file.n);
    const fileMs = ((await readWavFile(WAV)).samples.length / 16000) * 1000;
    assert.ok(Math.abs(file.end.audioMs - fileMs) < 30, `the whole file was sent (${file.end.audioMs} of ${fileMs} ms)`);
    await page.screenshot({ path: `${RUNS}demo-file.png` });
    assert.equal(pageErrors, [], 'no script errors on the page');
  } finally {
    await browser.close();
    await server.close();
    await engine.dispose();
  }
});

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

dataTest(D, 'a stereo call with channels apart: two tracks side by side, each with its own turns', [CHROMIUM, WAV, WAV2], async () => {
  // Left: one speaker from 0 s; right: another from 4 s, silent before.
  const [a, b] = [await readWavFile(WAV), await readWavFile(WAV2)];
  const offset = 4 * 16000;
  const frames = Math.max(a.samples.length, offset + b.samples.length) + 16000;
  const st = new Float32Array(frames * 2);
  a.samples.forEach((v, i) => (st[2 * i] = v));
  b.samples.forEach((v, i) => (st[2 * (offset + i) + 1] = v));
  const dir = mkdtempSync(join(tmpdir(), 'emostream-demo-'));
  const call = join(dir, 'call.wav');
  writeFileSync(call, makeWav({ sampleRate: 16000, channels: 2, type: 'int', bits: 16, samples: st }));

  const { chromium } = await import('playwright-core');
  const engine: Engine = await loadEngine(MODEL);
  const server = new EmostreamServer({ engine, port: 0 });
  const { url } = await server.listen();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 820 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(url);
    await page.check('#fast');
    await page.check('#separate');
    await page.setInputFiles('#file', call);
    await page.waitForFunction(() => window.emostream.end !== null, null, { timeout: 60000 });
    const got = await page.evaluate(() => ({
      tracks: window.emostream.tracks.map((t) => ({ turns: t.turns.map((u) => [u.channel, u.startMs, u.label]), n: t.posteriors.length })),
      columns: document.querySelectorAll('#tracks .track').length,
      headings: [...document.querySelectorAll('#tracks .track h3')].map((h) => h.textContent),
      canvases: [...document.querySelectorAll('#tracks canvas')].map((c) => (c as HTMLCanvasElement).getBoundingClientRect().left),
    }));
    assert.is(got.columns, 2);
    assert.equal(got.headings, ['channel 0', 'channel 1']);
    assert.ok(got.canvases[1] > got.canvases[0] + 100, 'the two charts sit side by side');
    assert.ok(got.tracks[0].turns.length >= 1 && got.tracks[1].turns.length >= 1, JSON.stringify(got.tracks));
    assert.ok(
      got.tracks[0].turns.every(([ch, start]) => ch === 0 && (start as number) < 4000),
      'the left speaker only on channel 0',
    );
    assert.ok(
      got.tracks[1].turns.every(([ch, start]) => ch === 1 && (start as number) >= 4000),
      'the right speaker only on channel 1',
    );

    // The timeline: one block per turn on its channel's lane, placed by stream time over the
    // whole session, in its label's legend colour with the turn's confidence as alpha.
    const tl = await page.evaluate(() => ({
      legend: Object.fromEntries(
        [...document.querySelectorAll<HTMLElement>('#legend span')].map((s) => [s.textContent, s.style.getPropertyValue('--c')]),
      ),
      spanMs: window.emostream.streamMs,
      audioMs: window.emostream.end!.audioMs,
      lanes: window.emostream.tracks.map((t, ch) => {
        const lane = document.querySelector(`#lanes .lane[data-channel="${ch}"]`)!;
        const box = lane.getBoundingClientRect();
        return {
          top: box.top,
          turns: t.turns,
          blocks: [...lane.querySelectorAll<HTMLElement>('.turn')].map((el) => {
            const r = el.getBoundingClientRect();
            return {
              text: el.textContent,
              bg: getComputedStyle(el).backgroundColor,
              left: (r.left - box.left) / box.width,
              right: (r.right - box.left) / box.width,
            };
          }),
        };
      }),
    }));
    assert.ok(tl.spanMs >= tl.audioMs - 30, `the timeline spans the whole session (${tl.spanMs} of ${tl.audioMs} ms)`);
    assert.ok(tl.lanes[1].top > tl.lanes[0].top + 20, 'one lane per channel, stacked');
    for (const lane of tl.lanes) {
      assert.is(lane.blocks.length, lane.turns.length, 'one block per utterance');
      lane.turns.forEach((u, i) => {
        const b = lane.blocks[i];
        assert.is(b.text, u.label);
        const [r, g, bl, a] = b.bg.match(/[\d.]+/g)!.map(Number);
        const hex = tl.legend[u.label];
        assert.equal(
          [r, g, bl],
          [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16)),
          `${u.label} in its legend colour ${hex}: ${b.bg}`,
        );
        assert.ok(Math.abs(a - u.confidence) < 0.01, `alpha ${a} is the confidence ${u.confidence}`);
        assert.ok(Math.abs(b.left - u.startMs / tl.spanMs) < 0.01, `placed at its start (${b.left} vs ${u.startMs / tl.spanMs})`);
        assert.ok(Math.abs(b.right - u.endMs / tl.spanMs) < 0.01, `ends at its end (${b.right} vs ${u.endMs / tl.spanMs})`);
      });
    }
    assert.ok(
      tl.lanes[1].blocks.every((b) => b.left >= 4000 / tl.spanMs - 0.01),
      'the right speaker starts 4 s in',
    );

    // The exports, as downloaded: every turn of both channels, in stream order.
    const turns = tl.lanes.flatMap((l) => l.turns).sort((x, y) => x.startMs - y.startMs || x.channel - y.channel);
    const fetchDownload = async (button: string) => {
      const [dl] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
      return { name: dl.suggestedFilename(), text: readFileSync((await dl.path())!, 'utf8') };
    };
    const json = await fetchDownload('#export-json');
    const session = await page.evaluate(() => window.emostream.session!);
    assert.is(json.name, `emostream-${session}-turns.json`);
    const parsed = JSON.parse(json.text) as { session: string; labels: string[]; turns: Turn[] };
    assert.is(parsed.session, session);
    assert.equal(parsed.labels, ['angry', 'happy', 'sad', 'neutral']);
    assert.equal(
      parsed.turns,
      turns.map((u) => ({
        channel: u.channel,
        startMs: u.startMs,
        endMs: u.endMs,
        label: u.label,
        confidence: u.confidence,
        probs: u.probs,
      })),
    );
    const csv = await fetchDownload('#export-csv');
    assert.is(csv.name, `emostream-${session}-turns.csv`);
    const rows = csv.text
      .trimEnd()
      .split('\r\n')
      .map((l) => l.split(','));
    assert.equal(rows[0], ['channel', 'startMs', 'endMs', 'label', 'confidence', 'p_angry', 'p_happy', 'p_sad', 'p_neutral']);
    assert.equal(
      rows.slice(1),
      turns.map((u) =>
        [u.channel, u.startMs, u.endMs, u.label, u.confidence, u.probs.angry, u.probs.happy, u.probs.sad, u.probs.neutral].map(String),
      ),
    );

    mkdirSync(RUNS, { recursive: true });
    await page.screenshot({ path: `${RUNS}demo-channels.png` });
    assert.equal(pageErrors, [], 'no script errors on the page');
  } finally {
    await browser.close();
    await server.close();
    await engine.dispose();
  }
});

D.run();
