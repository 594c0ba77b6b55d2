// Cutting the feature-frame stream into 300-frame model windows. The rule (docs/features.md):
//
//   For a stream of T frames and hop H:
//   - full windows start at 0, H, 2H, … for every start s with s + 300 ≤ T;
//   - then, if T > 0, the next start s on that grid gets one final zero-padded window covering
//     [s, T) when s < T and either no full window exists or T > (s − H) + 300 (some frames after
//     the last full window's end are not yet covered);
//   - with minFrames = m (0 < m < 300), extra "early" windows start at 0 and hold frames [0, c)
//     for c = m, m + H, m + 2H, … while c < 300 and c ≤ T, emitted as soon as frame c − 1
//     arrives and flagged early: true. They are extra: the windows above exist regardless.
// Windows are emitted in order of the frame whose arrival completes them (the tail at end of
// stream); `seq` numbers all of them, early ones included.
import type { OperatorFunction } from 'rxjs';
import { stageOperator } from '../util/rx.js';
import { FRAME_MS, FRAME_SIZE, WINDOW_FRAMES, type FeatureWindow, WINDOW_SIZE } from './types.js';

export interface WindowOptions {
  /** Frames between window starts (default 100 = 1 s). */
  hopFrames?: number;
  /** Emit early zero-padded windows from this many frames on (off by default; 0 or ≥ 300 = off). */
  minFrames?: number;
}

export interface PlannedWindow {
  seq: number;
  startFrame: number;
  /** One past the last real frame. */
  endFrame: number;
  validFrames: number;
  early: boolean;
}

function checkOptions(opts: WindowOptions): { hop: number; min: number | undefined } {
  const hop = opts.hopFrames ?? 100;
  if (!Number.isInteger(hop) || hop < 1) throw new RangeError(`hopFrames must be a positive integer, got ${hop}`);
  const min = opts.minFrames;
  if (min !== undefined && (!Number.isInteger(min) || min < 0))
    throw new RangeError(`minFrames must be a non-negative integer, got ${min}`);
  // 0 and anything ≥ 300 mean "no early windows" (the first full window comes at 300 anyway).
  return { hop, min: min !== undefined && min > 0 && min < WINDOW_FRAMES ? min : undefined };
}

/** Every window a stream of `totalFrames` frames yields, in emission order (the documented rule). */
export function planWindows(totalFrames: number, opts: WindowOptions = {}): PlannedWindow[] {
  const { hop, min } = checkOptions(opts);
  const out: PlannedWindow[] = [];
  const add = (start: number, end: number, early: boolean) =>
    out.push({ seq: out.length, startFrame: start, endFrame: end, validFrames: end - start, early });
  // Emission order = order of the completing frame: early window c completes at frame c, full
  // window s at frame s + 300. Early ends are < 300 ≤ any full window's end, so early ones go first.
  if (min !== undefined) for (let c = min; c < WINDOW_FRAMES && c <= totalFrames; c += hop) add(0, c, true);
  let s = 0;
  for (; s + WINDOW_FRAMES <= totalFrames; s += hop) add(s, s + WINDOW_FRAMES, false);
  if (totalFrames > 0 && s < totalFrames && (s === 0 || totalFrames > s - hop + WINDOW_FRAMES)) add(s, totalFrames, false);
  return out;
}

export function windowCount(totalFrames: number, opts: WindowOptions = {}): number {
  return planWindows(totalFrames, opts).length;
}

/** Streaming windower for callers outside RxJS; push() returns the windows each frame completes. */
export class Windower {
  private readonly hop: number;
  private readonly min: number | undefined;
  /** The last 300 frames, frame t at slot t mod 300. */
  private readonly ring = new Float32Array(WINDOW_SIZE);
  private frames = 0;
  private nextStart = 0;
  private nextEarly: number | undefined;
  private seq = 0;

  constructor(opts: WindowOptions = {}) {
    const { hop, min } = checkOptions(opts);
    this.hop = hop;
    this.min = min;
    this.nextEarly = min;
  }

  push(frame: Float32Array): FeatureWindow[] {
    if (frame.length !== FRAME_SIZE) throw new RangeError(`a feature frame has ${FRAME_SIZE} values, got ${frame.length}`);
    this.ring.set(frame, (this.frames % WINDOW_FRAMES) * FRAME_SIZE);
    this.frames++;
    const out: FeatureWindow[] = [];
    const T = this.frames;
    if (this.nextEarly !== undefined && T === this.nextEarly) {
      out.push(this.make(0, T, true));
      this.nextEarly = T + this.hop < WINDOW_FRAMES ? T + this.hop : undefined;
    }
    if (T === this.nextStart + WINDOW_FRAMES) {
      out.push(this.make(this.nextStart, T, false));
      this.nextStart += this.hop;
    }
    return out;
  }

  /** End of stream: the zero-padded tail window, if the rule gives one. */
  end(): FeatureWindow[] {
    const T = this.frames;
    const s = this.nextStart;
    if (T > 0 && s < T && (s === 0 || T > s - this.hop + WINDOW_FRAMES)) return [this.make(s, T, false)];
    return [];
  }

  private make(start: number, end: number, early: boolean): FeatureWindow {
    const data = new Float32Array(WINDOW_SIZE); // zeros beyond the valid frames
    for (let t = start; t < end; t++) {
      const slot = (t % WINDOW_FRAMES) * FRAME_SIZE;
      data.set(this.ring.subarray(slot, slot + FRAME_SIZE), (t - start) * FRAME_SIZE);
    }
    const w: FeatureWindow = {
      seq: this.seq++,
      startFrame: start,
      endFrame: end,
      startMs: start * FRAME_MS,
      endMs: end * FRAME_MS,
      validFrames: end - start,
      data,
    };
    if (early) w.early = true;
    return w;
  }
}

/** RxJS operator: feature frames in, FeatureWindows out, by the rule at the top of this file. */
export function featureWindows(opts: WindowOptions = {}): OperatorFunction<Float32Array, FeatureWindow> {
  return stageOperator((emit) => {
    const w = new Windower(opts);
    return {
      push: (frame) => w.push(frame).forEach(emit),
      end: () => w.end().forEach(emit),
    };
  });
}
