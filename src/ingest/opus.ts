// Opus on the wire: raw Opus packets (RFC 6716), one per message, as WebRTC and browsers'
// encoders produce them (no Ogg container, no length prefix: the message is the packet).
// Decoded with `opus-decoder` (libopus compiled to WebAssembly) at one of Opus's output rates.
import { OpusDecoder } from 'opus-decoder';
import { UserError } from '../errors.js';

/**
 * opus-decoder also prints every rejected packet with console.error: a client sending garbage
 * would write a line per message to the server's stderr. The error comes back in the result
 * (and to the client as opus_bad_packet), so the print is muted for the synchronous call.
 */
function quietly<T>(decode: () => T): T {
  const print = console.error;
  console.error = () => {};
  try {
    return decode();
  } finally {
    console.error = print;
  }
}

/** The rates libopus decodes to (any packet, whatever rate it was encoded at). */
export const OPUS_RATES = [8000, 12000, 16000, 24000, 48000] as const;
export type OpusRate = (typeof OPUS_RATES)[number];

export function isOpusRate(rate: number): rate is OpusRate {
  return (OPUS_RATES as readonly number[]).includes(rate);
}

/** The decoder's input buffer: 120 ms at 256 kb/s per channel (what opus-decoder allocates). */
export function maxOpusPacketBytes(channels: number): number {
  return 3840 * channels;
}

/**
 * Opus packets → interleaved float samples. The WebAssembly module instantiates asynchronously:
 * wait for `ready` before push(). Call free() when done; each decoder holds its own wasm memory.
 */
export class OpusPacketDecoder {
  readonly ready: Promise<void>;
  private readonly decoder: OpusDecoder<OpusRate>;
  private freed = false;
  private isReady = false;

  constructor(
    readonly sampleRate: number,
    readonly channels: number,
  ) {
    if (!isOpusRate(sampleRate))
      throw new UserError('unsupported_format', `Opus decodes at ${OPUS_RATES.join(', ')} Hz, not ${sampleRate} Hz`);
    if (channels !== 1 && channels !== 2) throw new UserError('unsupported_format', `Opus packets carry 1 or 2 channels, not ${channels}`);
    this.decoder = new OpusDecoder({
      sampleRate,
      channels,
      streamCount: 1,
      coupledStreamCount: channels - 1,
      channelMappingTable: channels === 2 ? [0, 1] : [0],
    });
    this.ready = this.decoder.ready.then(() => {
      this.isReady = true;
    });
  }

  /** One whole packet → its samples (interleaved). A bad packet throws `opus_bad_packet`. */
  push(packet: Uint8Array): Float32Array {
    if (packet.length === 0)
      throw new UserError('opus_bad_packet', 'empty Opus packet: each binary message must hold one whole Opus packet');
    const max = maxOpusPacketBytes(this.channels);
    if (packet.length > max)
      throw new UserError(
        'opus_bad_packet',
        `Opus packet of ${packet.length} bytes is over the ${max}-byte limit (one packet per message)`,
      );
    const { channelData, samplesDecoded, errors } = quietly(() => this.decoder.decodeFrame(packet));
    if (errors.length > 0) throw new UserError('opus_bad_packet', `Opus packet rejected by the decoder: ${errors[0].message}`);
    if (this.channels === 1) return channelData[0].slice(0, samplesDecoded);
    const out = new Float32Array(samplesDecoded * 2);
    const [l, r] = channelData;
    for (let i = 0; i < samplesDecoded; i++) {
      out[2 * i] = l[i];
      out[2 * i + 1] = r[i];
    }
    return out;
  }

  /** Packets are whole by definition: nothing is ever left over. */
  end(): void {}

  free(): void {
    if (this.freed) return;
    this.freed = true;
    if (this.isReady) this.decoder.free();
    else
      this.ready.then(
        () => this.decoder.free(),
        () => {},
      );
  }
}
