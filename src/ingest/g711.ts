// G.711 (ITU-T, 1972) μ-law and A-law: the 8-bit companded audio of telephone networks (usually
// 8 kHz). Decoding is a 256-entry table per law, built from the standard's segment formulas
// (as in the reference g711.c), giving the 14-bit (μ) or 13-bit (A) linear value scaled to 16 bits.

/** μ-law byte → linear 16-bit value (−32124…32124). */
export function ulawToLinear(byte: number): number {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 7;
  const sample = ((((u & 0x0f) << 3) + 0x84) << exponent) - 0x84;
  return u & 0x80 ? -sample : sample;
}

/** A-law byte → linear 16-bit value (−32256…32256). */
export function alawToLinear(byte: number): number {
  const a = (byte ^ 0x55) & 0xff;
  const exponent = (a >> 4) & 7;
  const mantissa = a & 0x0f;
  const sample = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  return a & 0x80 ? sample : -sample;
}

/** Byte → float sample in [−1, 1), for each law. */
export const G711_TABLES = {
  mulaw: Float32Array.from({ length: 256 }, (_, b) => ulawToLinear(b) / 32768),
  alaw: Float32Array.from({ length: 256 }, (_, b) => alawToLinear(b) / 32768),
} as const;
