// The boundary between audio sources and the front end.

/** s16le and f32le: linear PCM; mulaw and alaw: G.711 companded, one byte per sample. */
export type SampleEncoding = 's16le' | 'f32le' | 'mulaw' | 'alaw';

/** Sample rate and channel count: what any audio, decoded or not, declares about itself. */
export interface AudioFormat {
  sampleRate: number;
  channels: number;
}

/** A raw PCM byte stream's format: stdin's flags, a recorder's output, most `start` messages. */
export interface PcmFormat extends AudioFormat {
  encoding: SampleEncoding;
}

/** What a `start` message may declare: raw samples, or Opus packets (one per message, decoded at `sampleRate`). */
export type WireEncoding = SampleEncoding | 'opus';

export interface WireFormat extends AudioFormat {
  encoding: WireEncoding;
}

/** Decoded audio: interleaved float samples in [-1, 1]; length is a multiple of format.channels. */
export interface AudioChunk {
  format: AudioFormat;
  samples: Float32Array;
}
