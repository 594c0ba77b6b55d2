import { from, lastValueFrom, toArray } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FRAME_SIZE, WINDOW_FRAMES, type FeatureWindow } from '../src/dsp/types.js';
import { featureWindows, planWindows, Windower, windowCount } from '../src/dsp/windows.js';

/** Frame t filled with t + 1 (so zero padding is distinguishable from real frames). */
function frames(T: number): Float32Array[] {
  return Array.from({ length: T }, (_, t) => new Float32Array(FRAME_SIZE).fill(t + 1));
}

function run(T: number, opts: { hopFrames?: number; minFrames?: number } = {}): FeatureWindow[] {
  const w = new Windower(opts);
  const out: FeatureWindow[] = [];
  for (const f of frames(T)) out.push(...w.push(f));
  out.push(...w.end());
  return out;
}

const span = (ws: { startFrame: number; endFrame: number }[]) => ws.map((w) => [w.startFrame, w.endFrame]);

test('the documented rule, worked examples (hop 100)', () => {
  assert.equal(span(planWindows(0)), []);
  assert.equal(span(planWindows(1)), [[0, 1]]);
  assert.equal(span(planWindows(198)), [[0, 198]]); // shorter than 300: one padded window
  assert.equal(span(planWindows(300)), [[0, 300]]);
  assert.equal(span(planWindows(301)), [
    [0, 300],
    [100, 301],
  ]);
  assert.equal(span(planWindows(400)), [
    [0, 300],
    [100, 400],
  ]);
  assert.equal(span(planWindows(450)), [
    [0, 300],
    [100, 400],
    [200, 450],
  ]);
  assert.equal(windowCount(1000), 8); // starts 0…700 full; 800+300 > 1000 and 1000 = 700+300: no tail
  assert.equal(windowCount(1001), 9);
});

test('other hops: 300 (no overlap), 50, and 400 (gaps)', () => {
  assert.equal(span(planWindows(650, { hopFrames: 300 })), [
    [0, 300],
    [300, 600],
    [600, 650],
  ]);
  assert.equal(span(planWindows(600, { hopFrames: 300 })), [
    [0, 300],
    [300, 600],
  ]);
  assert.equal(span(planWindows(360, { hopFrames: 50 })), [
    [0, 300],
    [50, 350],
    [100, 360],
  ]);
  assert.equal(span(planWindows(750, { hopFrames: 400 })), [
    [0, 300],
    [400, 700],
  ]); // next start 800 ≥ T: frames 700…749 fall in a gap
  assert.equal(span(planWindows(850, { hopFrames: 400 })), [
    [0, 300],
    [400, 700],
    [800, 850],
  ]);
});

test('early windows: extra, flagged, start at 0, every hop from minFrames until 300', () => {
  const plan = planWindows(450, { minFrames: 100 });
  assert.equal(
    plan.map((w) => [w.startFrame, w.endFrame, w.early]),
    [
      [0, 100, true],
      [0, 200, true],
      [0, 300, false],
      [100, 400, false],
      [200, 450, false],
    ],
  );
  assert.equal(
    plan.map((w) => w.seq),
    [0, 1, 2, 3, 4],
  );
  assert.equal(span(planWindows(150, { minFrames: 100 })), [
    [0, 100],
    [0, 150],
  ]);
  assert.equal(span(planWindows(99, { minFrames: 100 })), [[0, 99]]);
  assert.equal(span(planWindows(150, { minFrames: 30, hopFrames: 50 })), [
    [0, 30],
    [0, 80],
    [0, 130],
    [0, 150],
  ]);
  assert.equal(planWindows(450, { minFrames: 0 }), planWindows(450)); // 0 = off
  assert.equal(planWindows(450, { minFrames: 300 }), planWindows(450));
});

test('streaming windows equal the plan for every length 0…700 and several options', () => {
  for (const opts of [{}, { hopFrames: 100, minFrames: 100 }, { hopFrames: 37, minFrames: 50 }, { hopFrames: 300 }, { hopFrames: 420 }]) {
    for (let T = 0; T <= 700; T += T < 320 ? 1 : 7) {
      const got = run(T, opts);
      const plan = planWindows(T, opts);
      assert.is(got.length, plan.length, `T=${T} ${JSON.stringify(opts)}`);
      got.forEach((w, i) => {
        const p = plan[i];
        assert.equal(
          [w.seq, w.startFrame, w.endFrame, w.validFrames, w.early ?? false],
          [p.seq, p.startFrame, p.endFrame, p.validFrames, p.early],
        );
      });
      assert.is(windowCount(T, opts), plan.length);
    }
  }
});

test('window data: frames in order, zero padding after validFrames, timestamps in ms', () => {
  const ws = run(450, { minFrames: 100 });
  for (const w of ws) {
    assert.is(w.data.length, WINDOW_FRAMES * FRAME_SIZE);
    assert.is(w.startMs, w.startFrame * 10);
    assert.is(w.endMs, w.endFrame * 10);
    for (let i = 0; i < WINDOW_FRAMES; i++) {
      const want = i < w.validFrames ? w.startFrame + i + 1 : 0;
      assert.is(w.data[i * FRAME_SIZE], want, `window ${w.seq} row ${i}`);
      assert.is(w.data[i * FRAME_SIZE + FRAME_SIZE - 1], want);
    }
  }
  const tail = ws[ws.length - 1];
  assert.equal([tail.startMs, tail.endMs, tail.validFrames], [2000, 4500, 250]);
});

test('featureWindows operator and option checks', async () => {
  const ws = await lastValueFrom(from(frames(301)).pipe(featureWindows(), toArray()));
  assert.equal(span(ws), [
    [0, 300],
    [100, 301],
  ]);
  assert.throws(() => planWindows(10, { hopFrames: 0 }), /hopFrames/);
  await lastValueFrom(from(frames(1)).pipe(featureWindows({ hopFrames: 1.5 }), toArray())).then(
    () => assert.unreachable(),
    (err) => assert.match(String(err), /hopFrames/),
  );
  assert.throws(() => new Windower().push(new Float32Array(3)), /120/);
});

test.run();
