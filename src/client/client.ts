// TypeScript client for protocol v1: publish audio and read results as RxJS Observables, or
// subscribe to a session (reconnecting with backoff when the connection drops).
import { filter, Observable, ReplaySubject, Subject, type OperatorFunction } from 'rxjs';
import WebSocket from 'ws';
import { UserError } from '../errors.js';
import { clientCodec, type Codec } from '../protocol/codec.js';
import {
  SUBPROTOCOL_JSON,
  SUBPROTOCOL_PROTO,
  type ClientMessage,
  type EmotionMsg,
  type Encoding,
  type EndMsg,
  type ErrorMsg,
  type PosteriorMsg,
  type ReadyMsg,
  type ServerMessage,
  type SpeechMsg,
  type StartMsg,
  type UtteranceMsg,
} from '../protocol/messages.js';

export const DEFAULT_URL = 'ws://127.0.0.1:8080';
/** Messages a Publisher replays to a late subscriber of its streams. */
export const REPLAY = 256;

export interface ConnectOptions {
  /** Server base URL, e.g. ws://127.0.0.1:8080 (http:// works too). Default DEFAULT_URL. */
  url?: string;
  encoding?: Encoding;
  /** Sent as Authorization: Bearer. */
  token?: string;
  /** Connection timeout, ms. Default 10000. */
  timeoutMs?: number;
  /**
   * For wss:// to a server whose certificate no CA Node trusts has signed (e.g. self-signed): the
   * PEM certificate(s) to trust, added to Node's. (NODE_EXTRA_CA_CERTS does the same process-wide.)
   */
  ca?: string | Buffer | (string | Buffer)[];
  /** false accepts any server certificate: the connection is encrypted but not authenticated. Default true. */
  rejectUnauthorized?: boolean;
}

export type PublishOptions = ConnectOptions & Omit<StartMsg, 'type'>;

/** Narrows a message stream to one message type. */
export function ofType<T extends ServerMessage['type']>(type: T): OperatorFunction<ServerMessage, Extract<ServerMessage, { type: T }>> {
  return filter((m): m is Extract<ServerMessage, { type: T }> => m.type === type);
}

/** Narrows a message stream to one track's messages (channelMode "separate"; 0 for mixed audio). */
export function ofChannel<T extends ServerMessage>(channel: number): OperatorFunction<T, Extract<T, { channel: number }>> {
  return filter((m): m is Extract<T, { channel: number }> => 'channel' in m && m.channel === channel);
}

/** Node's codes for a server certificate that does not chain to a trusted CA or does not name the host. */
const UNTRUSTED_CERT = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function endpoint(base: string, path: string): string {
  let u: URL;
  try {
    u = new URL(base);
  } catch {
    throw new UserError('bad_url', `not a valid server URL: '${base}' (expected e.g. ${DEFAULT_URL})`);
  }
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  else if (u.protocol !== 'ws:' && u.protocol !== 'wss:')
    throw new UserError('bad_url', `server URL must start with ws://, wss://, http:// or https://, got '${base}'`);
  u.pathname = u.pathname.replace(/\/+$/, '') + path;
  return u.toString();
}

/**
 * Opens a WebSocket whose server messages go to `into` (attached before the handshake ends, so
 * a message the server sends right away is not missed). Network failures before the connection
 * is open reject with a coded UserError; after that, `into` errors or completes when it closes.
 */
function open(url: string, opts: ConnectOptions, into: Subject<ServerMessage>): Promise<WebSocket> {
  const encoding = opts.encoding ?? 'json';
  const codec = clientCodec(encoding);
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const ws = new WebSocket(url, encoding === 'proto' ? SUBPROTOCOL_PROTO : SUBPROTOCOL_JSON, {
    headers,
    handshakeTimeout: opts.timeoutMs ?? 10000,
    ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
    ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
  });
  let fatal: ErrorMsg | undefined;
  ws.on('message', (data, isBinary) => {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    let msg: ServerMessage;
    try {
      msg = codec.decode(isBinary ? bytes : bytes.toString('utf8'), isBinary);
    } catch (err) {
      into.error(err);
      ws.terminate();
      return;
    }
    if (msg.type === 'error' && msg.fatal) fatal = msg;
    into.next(msg);
  });
  return new Promise((resolve, reject) => {
    const onError = (err: Error & { code?: string }) => {
      ws.off('open', onOpen);
      const where = url.replace(/\?.*$/, '');
      if (err.code === 'ECONNREFUSED')
        reject(new UserError('server_unreachable', `cannot connect to ${where}: connection refused (is 'emostream serve' running there?)`));
      else if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN')
        reject(new UserError('server_unreachable', `cannot connect to ${where}: unknown host`));
      else if (err.code !== undefined && UNTRUSTED_CERT.has(err.code))
        reject(
          new UserError(
            'server_untrusted',
            `cannot connect to ${where}: its TLS certificate is not trusted (${err.message}); pass its CA certificate (ca, or NODE_EXTRA_CA_CERTS)`,
          ),
        );
      else reject(new UserError('server_unreachable', `cannot connect to ${where}: ${err.message}`));
    };
    const onOpen = () => {
      ws.off('error', onError);
      ws.on('error', () => {}); // reported through 'close'
      ws.once('close', (code, reason) => {
        if (fatal) into.error(new UserError(fatal.code, fatal.message));
        else if (code === 1000 || code === 1001) into.complete();
        else if (code === 4008)
          into.error(new UserError('slow_consumer', 'the server closed the connection: this client read its results too slowly'));
        else
          into.error(
            new UserError(
              'connection_lost',
              `connection closed unexpectedly (code ${code}${reason.length ? `, ${reason.toString()}` : ''})`,
            ),
          );
      });
      resolve(ws);
    };
    // A refusal at the handshake (401/403/429/503) carries `code: message` in its body.
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (body.length < 4096) body += d;
      });
      res.on('end', () => {
        ws.off('open', onOpen);
        ws.off('error', onError);
        ws.on('error', () => {});
        ws.terminate();
        const m = /^([a-z_]+): (.+)$/s.exec(body.trim());
        reject(
          m
            ? new UserError(m[1], m[2])
            : new UserError('server_refused', `the server refused the connection (HTTP ${res.statusCode ?? '?'})`),
        );
      });
    });
    ws.once('error', onError);
    ws.once('open', onOpen);
  });
}

/** A publishing connection: send audio, read results. */
export class Publisher {
  /**
   * Every message after `ready`, until the connection closes. Each new subscriber first gets up
   * to the last REPLAY messages, so nothing is lost between connect() and subscribing.
   */
  readonly messages$: Observable<ServerMessage>;
  readonly posteriors$: Observable<PosteriorMsg>;
  readonly emotions$: Observable<EmotionMsg>;
  readonly speech$: Observable<SpeechMsg>;
  /** One message per speech turn, as soon as it ends: the turn's label and probabilities. */
  readonly utterances$: Observable<UtteranceMsg>;
  readonly errors$: Observable<ErrorMsg>;
  private lastSend: Promise<void> = Promise.resolve();
  private readonly ended: Promise<EndMsg>;

  private constructor(
    private readonly ws: WebSocket,
    private readonly codec: Codec<ClientMessage, ServerMessage>,
    readonly ready: ReadyMsg,
    subject: Subject<ServerMessage>,
    /** Bytes the socket may hold unsent before send() waits. */
    private readonly highWater = 1 << 20,
  ) {
    this.messages$ = subject.asObservable();
    this.posteriors$ = this.messages$.pipe(ofType('posterior'));
    this.emotions$ = this.messages$.pipe(ofType('emotion'));
    this.speech$ = this.messages$.pipe(ofType('speech'));
    this.utterances$ = this.messages$.pipe(ofType('utterance'));
    this.errors$ = this.messages$.pipe(ofType('error'));
    this.ended = new Promise<EndMsg>((resolve, reject) => {
      let end: EndMsg | undefined;
      subject.subscribe({
        next: (m) => {
          if (m.type === 'end') end = m;
        },
        error: reject,
        complete: () =>
          end ? resolve(end) : reject(new UserError('connection_lost', 'the server closed the session without an end message')),
      });
    });
    this.ended.catch(() => {});
  }

  /** Connects to /v1/stream, sends `start` and resolves once the server is `ready`. */
  static async connect(opts: PublishOptions): Promise<Publisher> {
    const { url, encoding, token, timeoutMs, ca, rejectUnauthorized, ...start } = opts;
    const subject = new ReplaySubject<ServerMessage>(REPLAY);
    let ready: ReadyMsg | undefined;
    const buffered = new Subject<ServerMessage>();
    // Declared before the socket exists: an error can arrive in the same tick the socket opens,
    // before `open` has returned it.
    let socket: WebSocket | undefined;
    const got = new Promise<ReadyMsg>((resolve, reject) => {
      buffered.subscribe({
        next: (m) => {
          if (!ready) {
            if (m.type === 'ready') {
              ready = m;
              resolve(m);
            } else if (m.type === 'error') {
              socket?.close();
              reject(new UserError(m.code, m.message));
            }
            return;
          }
          subject.next(m);
        },
        error: (e) => (ready ? subject.error(e) : reject(e)),
        complete: () =>
          ready ? subject.complete() : reject(new UserError('connection_lost', 'the server closed the connection before it was ready')),
      });
    });
    got.catch(() => {}); // handled below; `open` may fail first
    const ws = await open(endpoint(url ?? DEFAULT_URL, '/v1/stream'), { encoding, token, timeoutMs, ca, rejectUnauthorized }, buffered);
    socket = ws;
    const codec = clientCodec(encoding ?? 'json');
    ws.send(codec.encode({ type: 'start', ...start } as StartMsg));
    let r: ReadyMsg;
    try {
      r = await got;
    } catch (err) {
      ws.close();
      throw err;
    }
    return new Publisher(ws, codec, r, subject);
  }

  /** Sends raw PCM in the declared format; resolves when the socket can take more. */
  async send(pcm: Uint8Array): Promise<void> {
    if (this.ws.readyState !== WebSocket.OPEN) throw new UserError('connection_lost', 'cannot send audio: the connection is closed');
    this.lastSend = new Promise<void>((resolve) => this.ws.send(this.codec.encode({ type: 'audio', data: pcm }), () => resolve()));
    if (this.ws.bufferedAmount > this.highWater) await this.lastSend;
  }

  flush(): void {
    this.ws.send(this.codec.encode({ type: 'flush' }));
  }

  ping(id = String(Date.now())): void {
    this.ws.send(this.codec.encode({ type: 'ping', id }));
  }

  /** Flushes, and resolves with the server's `end` once it has closed the session. */
  stop(): Promise<EndMsg> {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(this.codec.encode({ type: 'stop' }));
    return this.ended;
  }

  /** Resolves with `end` when the session ends, however that happens. */
  get end(): Promise<EndMsg> {
    return this.ended;
  }

  /** Drops the connection without stopping (the server ends the session). */
  close(): void {
    this.ws.terminate();
  }
}

export interface SubscribeOptions extends ConnectOptions {
  /** Receive posterior messages too (default true). */
  posteriors?: boolean;
  /** Wait up to this long for a session that has not started yet, ms (server's `?wait=`; default 0). */
  waitMs?: number;
  /** Reconnect attempts after a dropped connection (default 8); backoff doubles from 250 ms to 10 s. */
  maxRetries?: number;
  /** Called before each reconnect attempt. */
  onReconnect?(attempt: number, delayMs: number, reason: UserError): void;
}

// A full server (too_many_connections, 503/429 at the handshake) may have room again later.
const RETRYABLE = new Set(['server_unreachable', 'connection_lost', 'too_many_connections', 'server_refused']);

/**
 * A session's messages: cold, one connection per subscription. Completes when the session
 * ends; errors (UserError) on a fatal server error, or when reconnecting fails. After a
 * reconnect the server first replays the session's bounded history (ready, its turns and events,
 * the latest posterior), so a message may arrive twice across a reconnect.
 */
export function subscribe(session: string, opts: SubscribeOptions = {}): Observable<ServerMessage> {
  return new Observable<ServerMessage>((sub) => {
    let ws: WebSocket | undefined;
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    let attempt = 0;
    const params = new URLSearchParams();
    if (opts.posteriors === false) params.set('posteriors', '0');
    if (opts.waitMs) params.set('wait', `${Math.round(opts.waitMs)}ms`);
    const q = params.size ? `?${params}` : '';
    const url = endpoint(opts.url ?? DEFAULT_URL, `/v1/subscribe/${encodeURIComponent(session)}`) + q;
    const connect = async () => {
      const inner = new Subject<ServerMessage>();
      let gotAny = false;
      inner.subscribe({
        next: (m) => {
          gotAny = true;
          attempt = 0;
          sub.next(m);
        },
        error: (e: UserError) => retry(e, gotAny),
        complete: () => sub.complete(),
      });
      try {
        const opened = await open(url, opts, inner);
        if (stopped) return opened.terminate();
        ws = opened;
      } catch (e) {
        inner.error(e);
      }
    };
    const retry = (e: UserError, _connected: boolean) => {
      if (stopped) return;
      if (!RETRYABLE.has(e.code) || attempt >= (opts.maxRetries ?? 8)) return sub.error(e);
      const delay = Math.min(10000, 250 * 2 ** attempt);
      attempt++;
      opts.onReconnect?.(attempt, delay, e);
      timer = setTimeout(() => void connect(), delay);
    };
    void connect();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      ws?.terminate();
    };
  });
}
