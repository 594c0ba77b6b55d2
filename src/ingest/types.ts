// The boundary between audio sources and the front end.

export type SampleEncoding = 's16le' | 'f32le';

/** What a PCM stream declares about itself. */
export interface AudioFormat {
  sampleRate: number;
  channels: number;
}

/** Decoded audio: interleaved float samples in [-1, 1]; length is a multiple of format.channels. */
export interface AudioChunk {
  format: AudioFormat;
  samples: Float32Array;
}
