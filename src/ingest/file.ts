// A WAV file as a stream of chunks, so files and live sources share one pipeline.
import { Observable } from 'rxjs';
import type { AudioChunk } from './types.js';
import { decodeWavFrames, parseWavLayout, readFileBytes } from './wav.js';

export interface WavFileOptions {
  /** Frames (samples per channel) per chunk; default 1600 (100 ms at 16 kHz). */
  chunkFrames?: number;
}

/** Reads and validates the file on subscribe; decodes one chunk at a time. */
export function wavFile(path: string, opts: WavFileOptions = {}): Observable<AudioChunk> {
  const chunkFrames = opts.chunkFrames ?? 1600;
  return new Observable<AudioChunk>((sub) => {
    if (!Number.isInteger(chunkFrames) || chunkFrames < 1)
      throw new RangeError(`chunkFrames must be a positive integer, got ${chunkFrames}`);
    readFileBytes(path).then(
      (buf) => {
        try {
          const layout = parseWavLayout(buf, path);
          for (let at = 0; at < layout.frames && !sub.closed; at += chunkFrames) {
            const n = Math.min(chunkFrames, layout.frames - at);
            sub.next({ format: layout.format, samples: decodeWavFrames(buf, layout, at, n) });
          }
          sub.complete();
        } catch (err) {
          sub.error(err);
        }
      },
      (err) => sub.error(err),
    );
  });
}
