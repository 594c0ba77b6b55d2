// The benchmark harness on a tiny configuration: a real server child process, real Emo-DB
// speech in real time, and a well-formed JSON report. No timing is asserted, only that the
// harness measures what it says (every window answered, ordered percentiles, finite numbers).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dataTest } from './helpers/shared-data.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatReport, runBench, type BenchReport } from '../src/bench/run.js';
import { EMODB_DIR } from '../src/bench/corpus.js';
import { staCrnnFlops } from '../src/bench/flops.js';
import { resolveConfig } from '../src/model/sta-crnn.js';
import { frameCount } from '../src/dsp/features.js';
import { windowCount } from '../src/dsp/windows.js';

test('FLOPs per window: the paper-width STA-CRNN needs about 2 GFLOP, mostly convolution', () => {
  const f = staCrnnFlops(resolveConfig({ numClasses: 4 }));
  // conv2 alone: 150·10 positions × 5·3·128 inputs × 128 outputs × 2.
  assert.ok(f.conv > 2 * 150 * 10 * 5 * 3 * 128 * 128);
  assert.ok(f.total > 1.9e9 && f.total < 2.1e9, String(f.total));
  const quarter = staCrnnFlops(resolveConfig({ numClasses: 4, width: 0.25 }));
  assert.ok(quarter.total < f.total / 10);
});

dataTest(test, 'quick harness on a tiny plan writes a well-formed report', [EMODB_DIR], async () => {
  const dir = mkdtempSync(join(tmpdir(), 'emostream-bench-'));
  const out = join(dir, 'bench.json');
  const lines: string[] = [];
  try {
    const report = await runBench({
      quick: true,
      models: ['shipped'],
      sections: ['engine', 'latency', 'memory'],
      threads: 1,
      maxBatch: 4,
      maxWaitMs: 0,
      out,
      log: (l) => lines.push(l),
      plan: { engines: ['onnx:1'], engineBatches: [1, 2], engineSeconds: 0.05, latencyStreams: [2], audioSeconds: 3.5, memoryStreams: 2 },
    });
    const json = JSON.parse(readFileSync(out, 'utf8')) as BenchReport;
    assert.equal(json.settings, report.settings);
    assert.is(json.mode, 'quick');
    assert.is(json.models.length, 1);
    assert.ok(json.models[0].gflopPerWindow > 0);
    assert.equal(
      json.engine!.map((e) => e.batch),
      [1, 2],
    );
    for (const e of json.engine!) {
      assert.match(e.backend, /^onnxruntime-cpu/);
      assert.ok(e.windowsPerSec > 0 && Number.isFinite(e.msPerWindow) && e.runs >= 2);
    }
    const [lat] = json.latency!;
    assert.is(lat.streams, 2);
    // 3.5 s of audio at hop 1 s: every window of both streams gets its posterior.
    assert.is(lat.result.windowsExpected, 2 * windowCount(frameCount(3.5 * 16000), { hopFrames: 100 }));
    assert.is(lat.result.windowsReceived, lat.result.windowsExpected);
    assert.is(lat.result.ended, 2);
    const p = lat.result.latency;
    assert.ok(p.n > 0 && p.p50 > 0 && p.p50 <= p.p95 && p.p95 <= p.p99 && p.p99 <= p.max);
    assert.ok(lat.result.serverLatency.n === lat.result.windowsReceived);
    const [mem] = json.memory!;
    assert.ok(mem.idleRssMB > 10 && mem.fewPeakRssMB >= mem.idleRssMB && mem.peakRssMB >= mem.fewPeakRssMB);
    assert.equal([mem.fewStreams, mem.streams], [1, 2]);
    assert.ok(Number.isFinite(mem.perStreamMB));
    const text = formatReport(json);
    assert.match(text, /### Engine throughput/);
    assert.match(text, /### End-to-end latency/);
    assert.ok(lines.some((l) => l.startsWith('latency')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
