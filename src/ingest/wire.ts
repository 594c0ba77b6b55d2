// Audio messages → float samples, for any encoding a `start` message may declare: raw PCM
// (split anywhere across messages, pcm.ts) or Opus (one packet per message, opus.ts).
import { OpusPacketDecoder } from './opus.js';
import { PcmDecoder } from './pcm.js';
import type { WireFormat } from './types.js';

export interface WireDecoder {
  /** Set when the decoder needs asynchronous set-up: push() only after it resolves. */
  readonly ready?: Promise<void>;
  /** One message's bytes → the interleaved samples now complete. */
  push(bytes: Uint8Array): Float32Array;
  /** End of stream: throws a coded error when bytes were left over (a cut sample). */
  end(): void;
  /** Releases what the decoder holds (Opus: its WebAssembly memory). */
  free(): void;
}

export function wireDecoder(format: WireFormat): WireDecoder {
  if (format.encoding === 'opus') return new OpusPacketDecoder(format.sampleRate, format.channels);
  const pcm = new PcmDecoder(format.encoding, format.channels);
  return { push: (b) => pcm.push(b), end: () => pcm.end(), free: () => {} };
}
