// The offline replay's scoring on a hand-made sequence: which turn is a file's, its first event
// and the state shown 1 s after its turn, through the server's own decision code (Track).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { outcomes, replayEvents, scoreOutcomes, type ReplayedSequence } from '../src/bench/replay.js';
import type { PlacedWindow } from '../src/dsp/stream-front-end.js';

const turn = (startMs: number, endMs: number, p: number[]) => ({
  startMs,
  endMs,
  probs: Float32Array.from(p),
  windows: 1,
  endsRun: true,
  order: endMs + 301,
  visibleMs: endMs + 340,
});

/** Two files, [0, 2 s) says a, [3, 5 s) says b; a 500 ms hop of windows over them. */
function sequence(): ReplayedSequence {
  const windows: ReplayedSequence['windows'] = [];
  for (let endMs = 1000, seq = 0; endMs <= 6000; endMs += 500, seq++) {
    const second = endMs > 3000;
    const turnStartMs = second ? 3100 : 100;
    const turnEnd = second ? 4900 : 1900;
    const w: PlacedWindow = {
      kind: 'window',
      seq,
      startMs: Math.max(0, endMs - 3000),
      endMs,
      speech: 0.5,
      turnStartMs,
      turnSpeechMs: Math.max(0, Math.min(endMs, turnEnd) - Math.max(endMs - 3000, turnStartMs)),
      turnOver: endMs >= turnEnd + 300,
      lastInputFrame: endMs * 16,
      data: new Float32Array(0),
    };
    windows.push({ probs: Float32Array.from(second ? [0.2, 0.8] : [0.9, 0.1]), w, visibleMs: endMs + 40, order: endMs });
  }
  return {
    files: [
      { path: 'one.wav', truth: 'a', actor: 0 },
      { path: 'two.wav', truth: 'b', actor: 0 },
    ],
    spans: [
      { startMs: 0, endMs: 2000 },
      { startMs: 3000, endMs: 5000 },
    ],
    windows,
    turns: [
      // Each placed (order: ms) where the VAD's 300 ms hangover closes it.
      turn(100, 1900, [0.7, 0.3]),
      // A click inside the second file that overlaps it less than its real turn.
      turn(3000, 3080, [0.9, 0.1]),
      turn(3100, 4900, [0.4, 0.6]),
    ],
    audioMs: 6000,
    utteranceLevel: [Float32Array.from([0.6, 0.4]), Float32Array.from([0.6, 0.4])],
  };
}

const smoothing = { timeConstantMs: 1000, margin: 0.1, dwellMs: 0, firstEventSpeechMs: 1000 };

test('replayEvents: the Track decides a, then b for the second turn, and ends with the stream', () => {
  const ev = replayEvents(sequence(), ['a', 'b'], smoothing);
  assert.equal(
    ev.map((e) => [e.kind, e.label, e.atMs]),
    [
      ['start', 'a', 1500],
      ['change', 'b', 4500],
      ['end', 'b', 6000],
    ],
  );
});

test("replayEvents: a turn's verdict sets the state, and the decided turn's later windows do not vote it back", () => {
  const seq = sequence();
  seq.turns[0].probs = Float32Array.from([0.2, 0.8]); // the whole first turn says b, its windows a
  const ev = replayEvents(seq, ['a', 'b'], smoothing);
  assert.equal(
    ev.map((e) => [e.kind, e.label, e.atMs]),
    [
      ['start', 'a', 1500],
      ['change', 'b', 1900],
      ['change', 'a', 3080], // the click's verdict
      ['change', 'b', 4500],
      ['end', 'b', 6000],
    ],
  );
});

test("outcomes: each file's main turn, first event and state 1 s after; scores", () => {
  const os = outcomes([sequence()], ['a', 'b'], smoothing);
  assert.equal(
    os.map((o) => [o.utteranceLevel, o.utterance, o.turns, o.firstEvent, o.stateAfter1s]),
    [
      ['a', 'a', 1, 'a', 'a'],
      ['a', 'b', 2, 'b', 'b'],
    ],
  );
  assert.equal(os[1].mainTurn, { startMs: 3100, endMs: 4900, windows: 1 });
  const s = scoreOutcomes(os);
  assert.equal([s.utteranceLevel.right, s.utterance.right, s.firstEvent.right, s.stateAfter1s.right], [1, 2, 2, 2]);
});

test.run();
