// Opus packets from a real encoder (libopus via @evan/opus, a dev dependency) for tests.
import { Encoder } from '@evan/opus';

/** Interleaved float channels → 20 ms Opus packets, the way a WebRTC sender cuts them. */
export function encodeOpus(channels: Float32Array[], rate = 16000): Uint8Array[] {
  const enc = new Encoder({ channels: channels.length as 1 | 2, sample_rate: rate as 16000, application: 'voip' });
  const frame = (rate / 1000) * 20;
  const n = channels[0].length;
  const packets: Uint8Array[] = [];
  for (let at = 0; at + frame <= n; at += frame) {
    const pcm = new Int16Array(frame * channels.length);
    for (let i = 0; i < frame; i++)
      channels.forEach((c, k) => (pcm[i * channels.length + k] = Math.round(Math.max(-1, Math.min(1, c[at + i])) * 32767)));
    packets.push(Uint8Array.from(enc.encode(pcm)));
  }
  return packets;
}
