// A tiny hand-assembled WebAssembly SIMD kernel for the resampler's polyphase dot products.
// V8 does not vectorise JS loops; f32x4 multiply-adds make the resampler several times faster.
// The module is built from bytes here (no toolchain, no binary in the repo) and validated at
// load; where WebAssembly SIMD is unavailable the resampler uses its plain JS loop instead.

/** fir(out, buf, table, count, off, p, L, M, taps) — all i32 (pointers in bytes). */
export type FirFn = (
  out: number,
  buf: number,
  table: number,
  count: number,
  off: number,
  p: number,
  L: number,
  M: number,
  taps: number,
) => void;

export interface SimdFir {
  memory: WebAssembly.Memory;
  fir: FirFn;
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function str(s: string): number[] {
  return [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
}

// Opcodes used below.
const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];
const tee = (i: number) => [0x22, i];
const i32c = (v: number) => [0x41, v]; // small non-negative constants only (< 64)
const I32_ADD = 0x6a,
  I32_SUB = 0x6b,
  I32_MUL = 0x6c,
  I32_SHL = 0x74,
  I32_LT_U = 0x49,
  I32_GE_U = 0x4f;
const F32_ADD = 0x92;
const BLOCK = 0x02,
  LOOP = 0x03,
  END = 0x0b,
  BR = 0x0c,
  BR_IF = 0x0d,
  VOID = 0x40;
const v128load = [0xfd, 0x00, 0x00, 0x00]; // memarg: align 2^0, offset 0
const f32store = [0x38, 0x02, 0x00];
const f32x4add = [0xfd, 0xe4, 0x01];
const f32x4mul = [0xfd, 0xe6, 0x01];
const lane = (l: number) => [0xfd, 0x1f, l];
const v128zero = [0xfd, 0x0c, ...new Array(16).fill(0)];

// Locals: params 0 out, 1 buf, 2 table, 3 count, 4 off, 5 p, 6 L, 7 M, 8 taps;
// 9 n, 10 k, 11 xp, 12 hp, 13 tapsBytes (i32); 14 acc (v128).
function firBody(): number[] {
  const code = [
    ...get(8),
    ...i32c(2),
    I32_SHL,
    ...set(13),
    BLOCK,
    VOID,
    LOOP,
    VOID,
    ...get(9),
    ...get(3),
    I32_GE_U,
    BR_IF,
    1,
    ...get(1),
    ...get(4),
    ...i32c(2),
    I32_SHL,
    I32_ADD,
    ...set(11), // xp = buf + off·4
    ...get(2),
    ...get(5),
    ...get(13),
    I32_MUL,
    I32_ADD,
    ...set(12), // hp = table + p·taps·4
    ...v128zero,
    ...set(14),
    ...i32c(0),
    ...set(10),
    LOOP,
    VOID,
    ...get(14),
    ...get(11),
    ...get(10),
    I32_ADD,
    ...v128load,
    ...get(12),
    ...get(10),
    I32_ADD,
    ...v128load,
    ...f32x4mul,
    ...f32x4add,
    ...set(14),
    ...get(10),
    ...i32c(16),
    I32_ADD,
    ...tee(10),
    ...get(13),
    I32_LT_U,
    BR_IF,
    0,
    END,
    // out[n] = (l0 + l1) + (l2 + l3)
    ...get(0),
    ...get(9),
    ...i32c(2),
    I32_SHL,
    I32_ADD,
    ...get(14),
    ...lane(0),
    ...get(14),
    ...lane(1),
    F32_ADD,
    ...get(14),
    ...lane(2),
    ...get(14),
    ...lane(3),
    F32_ADD,
    F32_ADD,
    ...f32store,
    // p += M; while (p ≥ L) { p −= L; off++ }
    ...get(5),
    ...get(7),
    I32_ADD,
    ...set(5),
    BLOCK,
    VOID,
    LOOP,
    VOID,
    ...get(5),
    ...get(6),
    I32_LT_U,
    BR_IF,
    1,
    ...get(5),
    ...get(6),
    I32_SUB,
    ...set(5),
    ...get(4),
    ...i32c(1),
    I32_ADD,
    ...set(4),
    BR,
    0,
    END,
    END,
    ...get(9),
    ...i32c(1),
    I32_ADD,
    ...set(9),
    BR,
    0,
    END,
    END,
    END,
  ];
  const locals = [0x02, 0x05, 0x7f, 0x01, 0x7b]; // 5 × i32, 1 × v128
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

export function firModuleBytes(): Uint8Array<ArrayBuffer> {
  const I32 = 0x7f;
  const bytes = [
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [0x01, 0x60, 0x09, ...new Array(9).fill(I32), 0x00]), // type: (9 × i32) → ()
    ...section(3, [0x01, 0x00]), // function 0 has type 0
    ...section(5, [0x01, 0x00, 0x01]), // one memory, min 1 page, no max
    ...section(7, [0x02, ...str('mem'), 0x02, 0x00, ...str('fir'), 0x00, 0x00]),
    ...section(10, [0x01, ...firBody()]),
  ];
  return Uint8Array.from(bytes);
}

let compiled: WebAssembly.Module | null | undefined;

/** A fresh instance (own memory), or undefined where WebAssembly SIMD is unavailable or disabled. */
export function createSimdFir(): SimdFir | undefined {
  if (compiled === undefined) {
    compiled = null;
    try {
      const bytes = firModuleBytes();
      if (process.env.EMOSTREAM_NO_SIMD !== '1' && typeof WebAssembly === 'object' && WebAssembly.validate(bytes))
        compiled = new WebAssembly.Module(bytes);
    } catch {
      compiled = null;
    }
  }
  if (!compiled) return undefined;
  const inst = new WebAssembly.Instance(compiled, {});
  const ex = inst.exports as { mem: WebAssembly.Memory; fir: FirFn };
  return { memory: ex.mem, fir: ex.fir };
}
