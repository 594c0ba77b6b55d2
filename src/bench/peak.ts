// The machine's measured compute ceiling: GFLOP/s of a large float32 MatMul in ONNX Runtime
// (the best-case kernel on this CPU), against which the model's windows/s is judged.
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../export/graph.js';
import { sessionOptions } from '../inference/ort-session.js';

export interface PeakResult {
  threads: number;
  n: number;
  gflops: number;
  msPerMatmul: number;
  runs: number;
}

/** Times an n×n by n×n MatMul (2n³ FLOPs) for about `seconds`, after a warm-up run. */
export async function measurePeakGflops(threads: number, seconds = 2, n = 1024): Promise<PeakResult> {
  const g = new GraphBuilder('peak');
  const a = g.input('a', [n, n]);
  const b = g.constant(
    'b',
    Float32Array.from({ length: n * n }, (_, i) => ((i * 7919) % 13) / 13 - 0.5),
    [n, n],
  );
  g.rename(g.op('MatMul', [a, b]), 'c');
  g.output('c', [n, n]);
  const session = await ort.InferenceSession.create(g.encode(), sessionOptions({ threads }));
  const feeds = {
    a: new ort.Tensor(
      'float32',
      Float32Array.from({ length: n * n }, (_, i) => ((i * 104729) % 17) / 17 - 0.5),
      [n, n],
    ),
  };
  await session.run(feeds);
  // The best of several short trials: a ceiling is what the machine can do, so a trial slowed
  // by another process on the same cores should not lower it.
  let best = Infinity,
    runs = 0;
  for (let trial = 0; trial < 4; trial++) {
    let r = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < (seconds * 1000) / 4 || r < 2) {
      await session.run(feeds);
      r++;
    }
    best = Math.min(best, (performance.now() - t0) / r);
    runs += r;
  }
  await session.release();
  return { threads, n, runs, msPerMatmul: best, gflops: (2 * n ** 3) / (best * 1e6) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const t of [1, 2]) console.log(await measurePeakGflops(t));
}
