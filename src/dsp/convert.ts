// Any declared format → 16 kHz mono float, streaming: downmix by averaging channels, then the
// windowed-sinc resampler (exact across chunk boundaries).
import type { OperatorFunction } from 'rxjs';
import { stageOperator } from '../util/rx.js';
import { UserError } from '../errors.js';
import { Resampler } from './resample.js';
import { SAMPLE_RATE } from './types.js';
import type { AudioChunk, AudioFormat } from '../ingest/types.js';

/** Averages interleaved channels; returns the input itself when it is already mono. */
export function downmix(samples: Float32Array, channels: number): Float32Array {
  if (channels === 1) return samples;
  const frames = Math.floor(samples.length / channels);
  const out = new Float32Array(frames);
  const inv = 1 / channels;
  for (let f = 0, j = 0; f < frames; f++) {
    let s = 0;
    for (let c = 0; c < channels; c++) s += samples[j++];
    out[f] = s * inv;
  }
  return out;
}

/** One channel of interleaved audio, as a mono chunk (for sessions that keep channels apart). */
export function channelOf(chunk: AudioChunk, channel: number): AudioChunk {
  const { channels, sampleRate } = chunk.format;
  if (channels === 1) return chunk;
  const frames = Math.floor(chunk.samples.length / channels);
  const out = new Float32Array(frames);
  for (let f = 0, j = channel; f < frames; f++, j += channels) out[f] = chunk.samples[j];
  return { format: { sampleRate, channels: 1 }, samples: out };
}

/** Stateful converter for callers outside RxJS (e.g. a WebSocket session). */
export class MonoConverter {
  private readonly resampler?: Resampler;

  constructor(
    readonly format: AudioFormat,
    readonly outRate = SAMPLE_RATE,
  ) {
    if (!Number.isInteger(format.channels) || format.channels < 1) {
      throw new UserError('audio_bad_format', `channel count must be a positive integer, got ${format.channels}`);
    }
    if (format.sampleRate !== outRate) this.resampler = new Resampler(format.sampleRate, outRate);
  }

  push(samples: Float32Array): Float32Array {
    if (samples.length % this.format.channels !== 0) {
      throw new UserError(
        'audio_partial_frame',
        `chunk of ${samples.length} samples is not a whole number of ${this.format.channels}-channel frames`,
      );
    }
    const mono = downmix(samples, this.format.channels);
    return this.resampler ? this.resampler.process(mono) : mono;
  }

  end(): Float32Array {
    return this.resampler ? this.resampler.flush() : new Float32Array(0);
  }
}

function sameFormat(a: AudioFormat, b: AudioFormat): boolean {
  return a.sampleRate === b.sampleRate && a.channels === b.channels;
}

/** Downmix + resample to 16 kHz; chunks already 16 kHz mono pass through untouched. */
export function toMono16k(): OperatorFunction<AudioChunk, Float32Array> {
  return stageOperator((emit) => {
    let conv: MonoConverter | undefined;
    const out = (x: Float32Array) => x.length > 0 && emit(x);
    return {
      push(chunk) {
        if (!conv) conv = new MonoConverter(chunk.format);
        else if (!sameFormat(conv.format, chunk.format)) {
          throw new UserError(
            'audio_format_changed',
            `audio format changed mid-stream from ${conv.format.sampleRate} Hz × ${conv.format.channels} ch to ${chunk.format.sampleRate} Hz × ${chunk.format.channels} ch`,
          );
        }
        out(conv.push(chunk.samples));
      },
      end: () => conv && out(conv.end()),
    };
  });
}
