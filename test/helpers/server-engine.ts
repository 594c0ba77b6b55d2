// A small deterministic Engine for server tests that must not depend on the real model's
// speed: posteriors are a softmax of simple statistics of the window, so different audio gives
// different (but repeatable) answers. `delayMs` simulates a slow engine; `calls` records batches.
import type { Engine } from '../../src/inference/engine.js';

export class TestEngine implements Engine {
  readonly backend = 'test';
  readonly model = 'test-4';
  readonly labels: readonly string[];
  readonly batches: number[] = [];
  disposed = false;
  fail = false;

  /** `labels` may be given, e.g. very long ones to make big posterior messages. */
  constructor(
    private readonly delayMs = 0,
    labels: readonly string[] = ['angry', 'happy', 'sad', 'neutral'],
  ) {
    if (labels.length !== 4) throw new RangeError('the test engine has 4 outputs');
    this.labels = labels;
  }

  async infer(windows: readonly Float32Array[]): Promise<Float32Array[]> {
    this.batches.push(windows.length);
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.fail) throw new Error('test engine failure');
    return windows.map((w) => {
      let s = 0,
        d = 0,
        n = 0;
      for (let i = 0; i < w.length; i += 3) {
        s += w[i];
        d += Math.abs(w[i + 1]);
        if (w[i] !== 0) n++;
      }
      const f = [s / w.length, d / w.length, n / (w.length / 3), 0.5];
      const z = f.map((x) => Math.exp(Math.max(-20, Math.min(20, x))));
      const sum = z.reduce((a, b) => a + b, 0);
      return Float32Array.from(z.map((x) => x / sum));
    });
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }
}
