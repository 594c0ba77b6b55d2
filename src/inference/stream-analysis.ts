// A whole recording, however long, through the streaming front end and an engine in bounded
// memory: the audio is pulled one decoded chunk at a time and each chunk's windows are scored
// before the next is read, so memory holds one chunk, one batch of windows and the turn being
// cut, never the recording. Gives each speech turn's result as the turn ends (the server's
// `utterance` rule: the mean posterior of the turn's windows) and the whole file's mean
// posterior over windows at the utterance hop (the paper's utterance rule, as `analyze` has
// always reported it).
import { Subject } from 'rxjs';
import type { AudioChunk } from '../ingest/types.js';
import { StreamFrontEnd, type FrontEndItem } from '../dsp/stream-front-end.js';
import type { TurnOptions } from '../dsp/turns.js';
import { FRAME_MS } from '../dsp/types.js';
import { UTTERANCE_HOP_FRAMES } from '../dsp/utterance.js';
import { DEFAULT_VAD, type VadOptions } from '../dsp/vad.js';
import type { Engine } from './engine.js';
import { meanPosterior } from './utterance.js';

export interface TurnResult {
  startMs: number;
  endMs: number;
  /** Mean posterior of the turn's windows, in engine.labels order. */
  probs: Float32Array;
  windows: number;
}

export interface RecordingResult {
  /** Mean posterior of every window of the recording (hop 1.5 s, 50 % overlap). */
  probs: Float32Array;
  windows: number;
  turns: number;
  /** Input length, s. */
  seconds: number;
}

export interface StreamAnalysisOptions {
  onTurn?(turn: TurnResult): void;
  /** Windows per engine call (default 16). */
  batch?: number;
  vad?: VadOptions;
  turns?: TurnOptions;
}

export async function analyzeRecording(
  engine: Engine,
  chunks: AsyncIterable<AudioChunk>,
  opts: StreamAnalysisOptions = {},
): Promise<RecordingResult> {
  const k = engine.labels.length;
  const batchSize = opts.batch ?? 16;
  const sum = new Float64Array(k);
  let windows = 0;
  let turns = 0;
  let inputFrames = 0;
  let rate = 0;
  let batch: Float32Array[] = [];
  const items: FrontEndItem[] = [];
  let input: Subject<AudioChunk> | undefined;
  let failed: unknown;

  const scoreBatch = async () => {
    if (!batch.length) return;
    for (const p of await engine.infer(batch)) for (let c = 0; c < k; c++) sum[c] += p[c];
    windows += batch.length;
    batch = [];
  };
  const drain = async () => {
    if (failed) throw failed;
    while (items.length) {
      const item = items.shift()!;
      if (item.kind === 'window') {
        batch.push(item.data);
        if (batch.length >= batchSize) await scoreBatch();
      } else {
        const probs = meanPosterior(await engine.infer(item.windows), k);
        turns++;
        opts.onTurn?.({ startMs: item.startMs, endMs: item.endMs, probs, windows: item.windows.length });
      }
    }
  };

  for await (const chunk of chunks) {
    if (!input) {
      rate = chunk.format.sampleRate;
      const fe = new StreamFrontEnd({
        format: chunk.format,
        hopMs: UTTERANCE_HOP_FRAMES * FRAME_MS,
        vad: opts.vad ?? DEFAULT_VAD,
        turns: opts.turns,
      });
      input = new Subject<AudioChunk>();
      fe.segment(input).subscribe({ next: (it) => items.push(it), error: (e) => (failed = e) });
    }
    inputFrames += chunk.samples.length / chunk.format.channels;
    input.next(chunk); // the front end runs synchronously: this chunk's items are in `items` now
    await drain();
  }
  input?.complete();
  await drain();
  await scoreBatch();
  return {
    probs: sum.length && windows ? Float32Array.from(sum, (v) => v / windows) : new Float32Array(k),
    windows,
    turns,
    seconds: rate ? inputFrames / rate : 0,
  };
}
