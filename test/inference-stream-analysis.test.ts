// analyzeRecording (what `emostream analyze` runs): the whole-file answer equals scoring the
// whole file at once, speech turns come out as they end, and a long input is consumed as it is
// scored — never read far ahead — so memory does not grow with the recording.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { computeFeatures } from '../src/dsp/features.js';
import { analyzeRecording, type TurnResult } from '../src/inference/stream-analysis.js';
import { scoreUtterance } from '../src/inference/utterance.js';
import type { AudioChunk } from '../src/ingest/types.js';
import { TestEngine } from './helpers/server-engine.js';

const RATE = 16000;

/** Sample i of a "talk": 2 s of a voiced buzz, 1 s of near-silence, repeated. */
function talk(i: number): number {
  const t = i / RATE;
  const on = t % 3 < 2;
  const noise = Math.sin(i * 12.9898) * 43758.5453;
  return on
    ? 0.3 * Math.sin(2 * Math.PI * 150 * t) * (0.6 + 0.4 * Math.sin(2 * Math.PI * 4 * t))
    : 0.0005 * (noise - Math.floor(noise) - 0.5);
}

/** `seconds` of talk in 100 ms chunks, made only when asked for; `made` counts what was taken. */
function source(seconds: number, made: { seconds: number }): AsyncIterable<AudioChunk> {
  return {
    async *[Symbol.asyncIterator]() {
      const step = RATE / 10;
      for (let at = 0; at < seconds * RATE; at += step) {
        const n = Math.min(step, seconds * RATE - at);
        made.seconds = (at + n) / RATE;
        yield { format: { sampleRate: RATE, channels: 1 }, samples: Float32Array.from({ length: n }, (_, j) => talk(at + j)) };
      }
    },
  };
}

test('the whole-file posterior and window count equal scoring the whole file at once; turns follow the talk', async () => {
  const seconds = 11.5;
  const engine = new TestEngine();
  const turns: TurnResult[] = [];
  const r = await analyzeRecording(engine, source(seconds, { seconds: 0 }), { onTurn: (t) => turns.push(t) });
  const whole = Float32Array.from({ length: seconds * RATE }, (_, i) => talk(i));
  const want = await scoreUtterance(engine, computeFeatures(whole));
  assert.is(r.windows, want.windows);
  for (let c = 0; c < 4; c++) assert.ok(Math.abs(r.probs[c] - want.probs[c]) < 1e-6, `class ${c}: ${r.probs[c]} vs ${want.probs[c]}`);
  assert.is(r.seconds, seconds);
  // Four bursts of 2 s (the last cut by the end of the input): four turns, each about 2 s.
  assert.is(r.turns, 4);
  assert.is(turns.length, 4);
  turns.forEach((t, i) => {
    assert.ok(Math.abs(t.startMs - i * 3000) <= 300, `turn ${i} starts at ${t.startMs}`); // the VAD needs a few frames to decide
    assert.ok(t.endMs - t.startMs >= 1400 && t.endMs - t.startMs <= 2400, `turn ${i}: ${t.startMs}–${t.endMs}`);
    assert.ok(Math.abs(t.probs.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  });
});

test('a long recording is read only as fast as it is scored (bounded memory)', async () => {
  const seconds = 600; // a whole-file reader would be 600 s ahead when the first window is scored
  const made = { seconds: 0 };
  let maxLead = 0;
  let turns = 0;
  const r = await analyzeRecording(new TestEngine(), source(seconds, made), {
    onTurn: (t) => {
      turns++;
      // How much audio had been taken from the source when this turn's result came out.
      maxLead = Math.max(maxLead, made.seconds - t.endMs / 1000);
    },
  });
  assert.is(r.seconds, seconds);
  assert.is(turns, 200);
  // A turn's result comes within the pause that ends it (1 s) plus the VAD's hangover and look-ahead.
  assert.ok(maxLead <= 2, `read ${maxLead.toFixed(2)} s ahead of the turn being reported`);
});

test.run();
