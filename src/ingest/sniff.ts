// What kind of audio a byte stream holds, from its first bytes (magic numbers), so files and
// stdin are decoded by what they are rather than by their name.

export type ContainerKind = 'wav' | 'flac' | 'mp3' | 'ogg-opus' | 'ogg-vorbis' | 'ogg' | 'mp4' | 'aac' | 'webm' | 'aiff';

/** Bytes sniffContainer wants to see (fewer only at the end of the input). */
export const SNIFF_BYTES = 64;

function ascii(b: Uint8Array, at: number, n: number): string {
  return String.fromCharCode(...b.subarray(at, at + n));
}

/** The container (and for Ogg the codec) of the first bytes of a file; undefined when unknown. */
export function sniffContainer(b: Uint8Array): ContainerKind | undefined {
  if (b.length < 4) return undefined;
  const t4 = ascii(b, 0, 4);
  if (t4 === 'RIFF' || t4 === 'RIFX' || t4 === 'RF64') return 'wav';
  if (t4 === 'fLaC') return 'flac';
  if (t4 === 'OggS') {
    // The first page's first packet names the codec; it starts after the 27-byte page header
    // and the segment table (byte 26 counts its entries).
    const body = 27 + (b[26] ?? 0);
    if (ascii(b, body, 8) === 'OpusHead') return 'ogg-opus';
    if (ascii(b, body + 1, 6) === 'vorbis') return 'ogg-vorbis';
    return 'ogg';
  }
  if (t4.startsWith('ID3')) return 'mp3';
  if (t4 === 'FORM') return 'aiff';
  if (b.length >= 8 && ascii(b, 4, 4) === 'ftyp') return 'mp4';
  if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return 'webm';
  if (b[0] === 0xff && (b[1] & 0xf0) === 0xf0 && (b[1] & 0x06) === 0) return 'aac'; // ADTS: layer bits 00
  if (b[0] === 0xff && (b[1] & 0xe0) === 0xe0 && (b[1] & 0x06) !== 0) return 'mp3'; // MPEG audio frame sync
  return undefined;
}

const NAMES: Record<ContainerKind, string> = {
  wav: 'WAV',
  flac: 'FLAC',
  mp3: 'MP3',
  'ogg-opus': 'Ogg Opus',
  'ogg-vorbis': 'Ogg Vorbis',
  ogg: 'Ogg (Vorbis/Opus)',
  mp4: 'MP4/M4A',
  aac: 'AAC (ADTS)',
  webm: 'WebM/Matroska',
  aiff: 'AIFF',
};

/** A person's name for the container of these bytes, if they are a known one. */
export function containerName(b: Uint8Array): string | undefined {
  const kind = sniffContainer(b);
  return kind && NAMES[kind];
}

export function kindName(kind: ContainerKind): string {
  return NAMES[kind];
}
