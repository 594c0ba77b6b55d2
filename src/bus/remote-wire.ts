// The remote-inference wire format on Redis, shared by nodes (remote-engine.ts) and workers
// (infer-worker.ts). A request is one entry of the `es:infer` stream, read by the `workers`
// consumer group (each request goes to one worker); its answer is pushed to the asking node's
// reply list. Windows and posteriors travel as raw little-endian float32.

export const REQUESTS = 'es:infer';
export const GROUP = 'workers';
/** The requests stream's approximate cap: a backlog no worker reads cannot grow Redis without bound. */
export const REQUESTS_MAX = 2000;

export const REPLY_OK = 0;
export const REPLY_ERROR = 1;

/** A reply: request id (u32), status (u8), then float32 posteriors or a UTF-8 message. */
export function encodeReply(id: number, status: number, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32LE(id, 0);
  head.writeUInt8(status, 4);
  return Buffer.concat([head, body]);
}

export function decodeReply(b: Buffer): { id: number; status: number; body: Buffer } {
  return { id: b.readUInt32LE(0), status: b.readUInt8(4), body: b.subarray(5) };
}

export function floatsToBuffer(arrays: readonly Float32Array[]): Buffer {
  return Buffer.concat(arrays.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
}

/** Splits `b` into `n` equal Float32Arrays (copied: Redis buffers need not be 4-byte aligned). */
export function bufferToFloats(b: Buffer, n: number): Float32Array[] {
  const each = b.length / n;
  if (!Number.isInteger(each) || each % 4 !== 0) throw new Error(`${b.length} bytes do not split into ${n} float32 arrays`);
  const out: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const f = new Float32Array(each / 4);
    new Uint8Array(f.buffer).set(b.subarray(i * each, (i + 1) * each));
    out.push(f);
  }
  return out;
}
