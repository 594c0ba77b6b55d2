// Both wire encodings of protocol v1, derived from the one schema in proto/emostream.proto
// (loaded at runtime): protobuf frames, and JSON objects { type: <oneof field>, ...fields }
// built with the same Type's fromObject/toObject so the two cannot drift apart.
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { UserError } from '../errors.js';
import type { ClientMessage, Encoding, ServerMessage } from './messages.js';

export const PROTO_PATH = fileURLToPath(new URL('../../proto/emostream.proto', import.meta.url));

const CONVERSION: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, arrays: true, objects: true, oneofs: true };

let cached: { client: protobuf.Type; server: protobuf.Type } | undefined;
function types() {
  if (!cached) {
    const root = protobuf.loadSync(PROTO_PATH);
    cached = { client: root.lookupType('emostream.v1.ClientMessage'), server: root.lookupType('emostream.v1.ServerMessage') };
  }
  return cached;
}

type Incoming = string | Uint8Array;

/** One side's view of the protocol: what it sends and what it receives. */
export class Codec<Out extends { type: string }, In extends { type: string }> {
  constructor(
    readonly encoding: Encoding,
    private readonly outType: protobuf.Type,
    private readonly inType: protobuf.Type,
  ) {}

  /** A frame ready for ws.send: a string (JSON) or bytes (protobuf, or raw audio in JSON mode). */
  encode(msg: Out): string | Uint8Array {
    const { type, ...fields } = msg as { type: string } & Record<string, unknown>;
    if (this.encoding === 'json' && type === 'audio') return (fields as { data: Uint8Array }).data;
    const wrapped = this.outType.fromObject({ [type]: fields });
    if (this.encoding === 'proto') return this.outType.encode(wrapped).finish();
    return JSON.stringify({ type, ...this.flatten(wrapped, type) });
  }

  /** Parses one frame; throws a UserError with a protocol error code when it is not a valid message. */
  decode(frame: Incoming, isBinary: boolean): In {
    if (this.encoding === 'json') {
      if (isBinary) return { type: 'audio', data: typeof frame === 'string' ? Buffer.from(frame) : frame } as unknown as In;
      return this.fromJson(typeof frame === 'string' ? frame : Buffer.from(frame).toString('utf8'));
    }
    if (!isBinary || typeof frame === 'string') {
      throw new UserError(
        'malformed_protobuf',
        'text frame on an emostream.v1.proto connection: every message must be a binary protobuf frame',
      );
    }
    let decoded: protobuf.Message;
    try {
      decoded = this.inType.decode(frame);
    } catch (err) {
      throw new UserError('malformed_protobuf', `cannot decode protobuf message: ${(err as Error).message}`);
    }
    const type = (decoded as unknown as { msg?: string }).msg;
    if (!type) throw new UserError('unknown_message', 'protobuf message sets none of the known message fields');
    return { type, ...this.flatten(decoded, type) } as unknown as In;
  }

  private fromJson(text: string): In {
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (err) {
      throw new UserError('malformed_json', `text frame is not valid JSON: ${(err as Error).message}`);
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj))
      throw new UserError('malformed_json', 'a JSON message must be an object with a "type" field');
    const { type, ...fields } = obj as Record<string, unknown>;
    if (typeof type !== 'string') throw new UserError('malformed_json', 'a JSON message must have a string "type" field');
    const field = this.inType.oneofs.msg.fieldsArray.find((f) => f.name === type);
    if (!field) {
      const known = this.inType.oneofs.msg.fieldsArray.map((f) => f.name).join(', ');
      throw new UserError('unknown_message', `unknown message type '${type}' (expected one of: ${known})`);
    }
    checkJsonValues(field.resolve().resolvedType as protobuf.Type, fields, type);
    const problem = this.inType.verify({ [type]: fields });
    if (problem) throw new UserError('invalid_message', `invalid '${type}' message: ${problem.replace(/^msg\.|^\w+\./, '')}`);
    let message: protobuf.Message;
    try {
      message = this.inType.fromObject({ [type]: fields });
    } catch (err) {
      // e.g. bytes that are not valid base64
      throw new UserError('invalid_message', `invalid '${type}' message: ${(err as Error).message}`);
    }
    return { type, ...this.flatten(message, type) } as unknown as In;
  }

  private flatten(wrapped: protobuf.Message, type: string): Record<string, unknown> {
    const obj = this.outOrIn(wrapped).toObject(wrapped, CONVERSION)[type] as Record<string, unknown> | undefined;
    return obj ?? {};
  }

  private outOrIn(m: protobuf.Message): protobuf.Type {
    return (m.$type as protobuf.Type) ?? this.inType;
  }
}

const INT_RANGES: Record<string, [number, number]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  sint32: [-(2 ** 31), 2 ** 31 - 1],
  sfixed32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  fixed32: [0, 2 ** 32 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  sint64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  sfixed64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
  fixed64: [0, Number.MAX_SAFE_INTEGER],
};

/**
 * What protobufjs's verify lets through and fromObject then silently changes: integers outside
 * their field's range (fromObject wraps them modulo 2^32), bytes given as arrays or objects
 * (they reach the decoder as non-bytes), and arrays where a message belongs. Checked before
 * verify, recursively; `path` names the field in the error.
 */
function checkJsonValues(type: protobuf.Type | null, obj: Record<string, unknown>, path: string): void {
  if (!type) return;
  for (const [key, value] of Object.entries(obj)) {
    // Own fields only: a key like 'constructor' must not find an inherited property.
    const field = Object.prototype.hasOwnProperty.call(type.fields, key) ? type.fields[key] : undefined;
    if (!field || value === null || value === undefined || field.repeated || field.map) continue;
    const where = `${path}.${key}`;
    const bad = (what: string) => {
      throw new UserError('invalid_message', `invalid '${path.split('.')[0]}' message: ${where.split('.').slice(1).join('.')}: ${what}`);
    };
    const resolved = field.resolve().resolvedType;
    if (resolved instanceof protobuf.Type) {
      if (typeof value !== 'object' || Array.isArray(value)) bad('must be an object');
      checkJsonValues(resolved, value as Record<string, unknown>, where);
    } else if (field.type === 'bytes') {
      if (typeof value !== 'string') bad('must be a base64 string');
    } else if (field.type in INT_RANGES) {
      const [lo, hi] = INT_RANGES[field.type];
      if (typeof value === 'number' && Number.isInteger(value) && (value < lo || value > hi))
        bad(`${value} is out of range (${lo}..${hi})`);
    }
  }
}

/** What the server sends and receives. */
export function serverCodec(encoding: Encoding): Codec<ServerMessage, ClientMessage> {
  const t = types();
  return new Codec<ServerMessage, ClientMessage>(encoding, t.server, t.client);
}

/** What a client sends and receives. */
export function clientCodec(encoding: Encoding): Codec<ClientMessage, ServerMessage> {
  const t = types();
  return new Codec<ClientMessage, ServerMessage>(encoding, t.client, t.server);
}
