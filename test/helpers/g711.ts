// The G.711 reference encoder (Sun's g711.c, written out independently here), for tests: the
// decoder is checked against it, and telephone audio is made with it.
const search = (v: number, table: number[]) => {
  const i = table.findIndex((t) => v <= t);
  return i < 0 ? table.length : i;
};
export function linear2ulaw(pcm: number): number {
  let v = pcm >> 2;
  let mask = 0xff;
  if (v < 0) {
    v = -v;
    mask = 0x7f;
  }
  v = Math.min(v, 8159) + (0x84 >> 2);
  const seg = search(v, [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff]);
  if (seg >= 8) return 0x7f ^ mask;
  return ((seg << 4) | ((v >> (seg + 1)) & 0xf)) ^ mask;
}
export function linear2alaw(pcm: number): number {
  let v = pcm >> 3;
  let mask = 0xd5;
  if (v < 0) {
    mask = 0x55;
    v = -v - 1;
  }
  const seg = search(v, [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff]);
  if (seg >= 8) return 0x7f ^ mask;
  return ((seg << 4) | (seg < 2 ? (v >> 1) & 0xf : (v >> seg) & 0xf)) ^ mask;
}
