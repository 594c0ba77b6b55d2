// An audio file of any supported format (decode.ts) as a stream of equal chunks, so files and
// live sources share one pipeline; the file is read and decoded as the chunks are taken.
import { Observable } from 'rxjs';
import { decodeAudioFile, type DecodeOptions } from './decode.js';
import type { AudioChunk } from './types.js';

export interface AudioFileOptions extends DecodeOptions {
  /** Frames (samples per channel) per chunk; default 1600 (100 ms at 16 kHz). */
  chunkFrames?: number;
}

/** Chunks of exactly chunkFrames frames (the last may be shorter), decoded on subscribe. */
export function audioFile(path: string, opts: AudioFileOptions = {}): Observable<AudioChunk> {
  const chunkFrames = opts.chunkFrames ?? 1600;
  return new Observable<AudioChunk>((sub) => {
    if (!Number.isInteger(chunkFrames) || chunkFrames < 1)
      throw new RangeError(`chunkFrames must be a positive integer, got ${chunkFrames}`);
    const source = decodeAudioFile(path, opts);
    (async () => {
      for await (const chunk of rechunk(source, chunkFrames)) {
        if (sub.closed) break;
        sub.next(chunk);
      }
    })().then(
      () => sub.complete(),
      (err) => sub.error(err),
    );
    return () => void source.return(undefined);
  });
}

/** Re-cuts decoded chunks (of whatever size a decoder gives) into chunks of `frames` frames. */
export async function* rechunk(chunks: AsyncIterable<AudioChunk>, frames: number): AsyncGenerator<AudioChunk> {
  let pending: AudioChunk | undefined;
  let filled = 0;
  for await (const c of chunks) {
    const ch = c.format.channels;
    const want = frames * ch;
    let at = 0;
    while (at < c.samples.length) {
      pending ??= { format: c.format, samples: new Float32Array(want) };
      const n = Math.min(want - filled, c.samples.length - at);
      pending.samples.set(c.samples.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === want) {
        yield pending;
        pending = undefined;
        filled = 0;
      }
    }
  }
  if (pending && filled > 0) yield { format: pending.format, samples: pending.samples.slice(0, filled) };
}
