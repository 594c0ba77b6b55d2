// A raw protocol-v1 WebSocket connection for server tests: records every message, decodes with
// the client codec, and lets a test wait for a message type or for the close.
import WebSocket from 'ws';
import { clientCodec, type Codec } from '../../src/protocol/codec.js';
import { SUBPROTOCOL_JSON, SUBPROTOCOL_PROTO, type ClientMessage, type Encoding, type ServerMessage } from '../../src/protocol/messages.js';

export interface Conn {
  ws: WebSocket;
  codec: Codec<ClientMessage, ServerMessage>;
  messages: ServerMessage[];
  send(m: ClientMessage): void;
  /** Resolves with the first message of `type` at or after index `from` (default: any so far). */
  next<T extends ServerMessage['type']>(type: T, from?: number, timeoutMs?: number): Promise<Extract<ServerMessage, { type: T }>>;
  closed: Promise<{ code: number; reason: string }>;
  of<T extends ServerMessage['type']>(type: T): Extract<ServerMessage, { type: T }>[];
}

export async function connect(
  url: string,
  encoding: Encoding = 'json',
  headers: Record<string, string> = {},
  protocols?: string[],
): Promise<Conn> {
  const ws = new WebSocket(url, protocols ?? [encoding === 'proto' ? SUBPROTOCOL_PROTO : SUBPROTOCOL_JSON], { headers });
  const codec = clientCodec(encoding);
  const messages: ServerMessage[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (data, isBinary) => {
    const b = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
    messages.push(codec.decode(isBinary ? b : b.toString('utf8'), isBinary));
    waiters.splice(0).forEach((w) => w());
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      waiters.splice(0).forEach((w) => w());
    });
  });
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const conn: Conn = {
    ws,
    codec,
    messages,
    closed,
    send: (m) => ws.send(codec.encode(m)),
    of: (type) => messages.filter((m) => m.type === type) as never,
    next: (type, from = 0, timeoutMs = 20000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for '${type}' (got: ${messages.map((m) => m.type).join(',')})`)),
          timeoutMs,
        );
        const check = () => {
          const hit = messages.slice(from).find((m) => m.type === type);
          if (hit) {
            clearTimeout(timer);
            return resolve(hit as never);
          }
          if (ws.readyState === WebSocket.CLOSED) {
            clearTimeout(timer);
            return reject(
              new Error(
                `connection closed before '${type}' (got: ${messages.map((m) => (m.type === 'error' ? `error:${m.code}` : m.type)).join(',')})`,
              ),
            );
          }
          waiters.push(check);
        };
        check();
      }),
  };
  return conn;
}

/** s16le bytes of float samples in [-1, 1]. */
export function toS16(samples: Float32Array): Uint8Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(samples[i] * 32767)));
  return new Uint8Array(out.buffer);
}

export function toF32(samples: Float32Array): Uint8Array {
  return new Uint8Array(samples.buffer.slice(samples.byteOffset, samples.byteOffset + samples.byteLength));
}

/** Sends `bytes` as audio frames of `size` bytes (odd sizes split samples). */
export function sendChunks(c: Conn, bytes: Uint8Array, size: number): void {
  for (let i = 0; i < bytes.length; i += size) c.send({ type: 'audio', data: bytes.subarray(i, i + size) });
}
