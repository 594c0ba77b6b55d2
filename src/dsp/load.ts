// Whole-file loading for offline work (training, analysis, the features CLI).
import { resample } from './resample.js';
import { SAMPLE_RATE } from './types.js';
import { downmix } from './convert.js';
import { readAudioFile } from '../ingest/decode.js';
import type { DecodedAudio } from '../ingest/wav.js';

/** Mono 16 kHz float signal of an audio file of any supported format (downmixed and resampled when needed). */
export async function loadAudio16k(path: string): Promise<Float32Array> {
  return toMono16kSignal(await readAudioFile(path));
}

export function toMono16kSignal(audio: DecodedAudio): Float32Array {
  const mono = downmix(audio.samples, audio.format.channels);
  return audio.format.sampleRate === SAMPLE_RATE ? mono : resample(mono, audio.format.sampleRate, SAMPLE_RATE);
}
