// The WebSocket server: upgrades, connection lifecycles, the session registry and the
// shared batcher. Per-session processing lives in session.ts; sending limits in outbox.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import pino, { type Logger } from 'pino';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Feed, HistoryLimits, SessionBus } from '../bus/types.js';
import { internalFailure, UserError } from '../errors.js';
import type { Engine } from '../inference/engine.js';
import { authOn, authorize, matches, NO_AUTH, refusalStatus, statsAllowed, type AuthConfig, type Scope } from './auth.js';
import { Batcher, type BatcherOptions } from './batcher.js';
import { DEFAULT_HISTORY, SessionHistory } from './history.js';
import { handleHttp, requestUrl } from './http.js';
import { serverCodec } from '../protocol/codec.js';
import { SUBPROTOCOL_JSON, SUBPROTOCOL_PROTO, type ClientMessage, type Encoding } from '../protocol/messages.js';
import { ServerMetrics } from './metrics.js';
import { Outbox } from './outbox.js';
import { MissThrottle } from './throttle.js';
import { Session } from './session.js';
import { isSessionId, parseWait, resolveStart } from './settings.js';

export interface ServerLimits {
  /** Largest message accepted, bytes: a bigger one is refused as soon as its frame header says
   *  so, unread (message_too_large, fatal, close 1009). */
  maxMessageBytes: number;
  /** Per-connection send buffer above which posteriors are shed, bytes. */
  sendSoftLimit: number;
  /** … and above which the connection is closed with slow_consumer. */
  sendHardLimit: number;
  /** A connection whose send buffer stays above sendSoftLimit this long is closed (slow_consumer), ms. */
  slowConsumerMs: number;
  /** Windows a session may have waiting for inference before its socket is paused. */
  maxPendingWindows: number;
  maxSessions: number;
  maxSubscribersPerSession: number;
  /** WebSocket ping interval; a connection that misses a pong for this long is dropped, ms (0 = off). */
  heartbeatMs: number;
  /** Open WebSocket connections, all addresses together; more are refused at the upgrade (HTTP 503). */
  maxConnections: number;
  /** Open WebSocket connections from one remote address; more are refused (HTTP 429). */
  maxConnectionsPerAddress: number;
  /** A publisher that has not started a session this long after connecting is closed (start_timeout), ms. */
  startTimeoutMs: number;
  /** TCP connections that are not (yet) an accepted WebSocket: plain HTTP, handshakes, idle
   *  sockets. When there are this many, the oldest is closed to make room for a new one. */
  maxUnauthenticatedSockets: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxMessageBytes: 1 << 20,
  sendSoftLimit: 256 << 10,
  sendHardLimit: 4 << 20,
  slowConsumerMs: 10000,
  maxPendingWindows: 32,
  maxSessions: 256,
  maxSubscribersPerSession: 64,
  heartbeatMs: 30000,
  maxConnections: 1024,
  maxConnectionsPerAddress: 128,
  startTimeoutMs: 10000,
  maxUnauthenticatedSockets: 256,
};

/** File descriptors kept out of the connection caps: model files, logs, the bus, Node itself. */
export const FD_RESERVE = 64;

/** The process's soft limit on open files (Linux /proc), or undefined where it cannot be read. */
export function openFileLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m && m[1] !== 'unlimited' ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Connection caps that fit the file descriptors the process may open: when WebSockets plus
 * unauthenticated sockets could exhaust them (and accept() would start failing for /healthz
 * too), both are scaled down to leave FD_RESERVE free.
 */
export function fitToFileLimit(limits: ServerLimits, fdLimit: number | undefined): ServerLimits {
  if (fdLimit === undefined) return limits;
  const budget = Math.max(2, fdLimit - FD_RESERVE);
  const total = limits.maxConnections + limits.maxUnauthenticatedSockets;
  if (total <= budget) return limits;
  const maxConnections = Math.max(1, Math.floor((limits.maxConnections * budget) / total));
  return { ...limits, maxConnections, maxUnauthenticatedSockets: Math.max(1, budget - maxConnections) };
}

/** WebSocket ping frames a peer may have waiting for their pong; more end the connection. */
export const MAX_UNANSWERED_PINGS = 1024;

/** How long a connection that sent an oversized message keeps its socket for the error and the
 *  close frame to go out, ms. */
const OVERSIZE_LINGER_MS = 1000;

export interface ServerOptions {
  engine: Engine;
  host?: string;
  /** 0 = any free port. */
  port?: number;
  batch?: Partial<BatcherOptions>;
  limits?: Partial<ServerLimits>;
  auth?: AuthConfig;
  logger?: Logger;
  /** A shared session space with other nodes (docs/deploy.md); none = this process alone. */
  bus?: SessionBus;
  /** What a late subscriber gets of a session's past. */
  history?: HistoryLimits;
  /** A PEM certificate (chain) and its private key: serve https:// and wss:// instead of http:// and ws://. */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

/** Longest a bus may take to register a session before its start fails with bus_unavailable, ms. */
const CLAIM_TIMEOUT_MS = 5000;

interface Entry {
  session: Session;
  publisher: Outbox;
  subscribers: Set<Outbox>;
  history: SessionHistory;
  startedAt: number;
  /** With auth on: the token that subscribes to this session only (sent in the publisher's ready). */
  subscribeToken?: string;
}

/** Subscriptions an address may try at once, and regains per second, that find no session. */
export const UNKNOWN_SESSION_BURST = 10;
export const UNKNOWN_SESSION_PER_S = 1;

const STATUS_TEXT: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};

/** Answers an upgrade request with an HTTP error whose body is `code: message`. */
function refuse(socket: Duplex, status: number, code: string, message: string, headers: string[] = []): void {
  const body = `${code}: ${message}\n`;
  socket.end(
    [
      `HTTP/1.1 ${status} ${STATUS_TEXT[status]}`,
      'Connection: close',
      ...headers,
      'Content-Type: text/plain; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n'),
  );
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // not valid %-encoding: look it up as is (and find no such session)
  }
}
export class EmostreamServer {
  readonly metrics: ServerMetrics;
  readonly batcher: Batcher;
  readonly limits: ServerLimits;
  readonly log: Logger;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly sessions = new Map<string, Entry>();
  private readonly sockets = new Set<WebSocket>();
  /** TCP connections that are not an accepted WebSocket, oldest first. */
  private readonly loose = new Set<Socket>();
  /** Open connections (and upgrades under way) per remote address. */
  private readonly perAddress = new Map<string, number>();
  private readonly auth: AuthConfig;
  private readonly misses = new MissThrottle(UNKNOWN_SESSION_BURST, UNKNOWN_SESSION_PER_S);
  /** Subscribers waiting (?wait=) for a session of this process to start, by session id. */
  private readonly waiting = new Map<string, Set<(entry: Entry) => void>>();
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: ServerOptions) {
    this.log = opts.logger ?? pino({ level: 'silent' });
    const asked = { ...DEFAULT_LIMITS, ...opts.limits };
    this.limits = fitToFileLimit(asked, openFileLimit());
    if (this.limits !== asked) {
      this.log.warn(
        { maxConnections: this.limits.maxConnections, maxUnauthenticatedSockets: this.limits.maxUnauthenticatedSockets },
        `connection caps lowered to fit the open-file limit (${openFileLimit()}, ${FD_RESERVE} kept free)`,
      );
    }
    this.auth = opts.auth ?? NO_AUTH;
    this.metrics = new ServerMetrics(
      { model: opts.engine.model, backend: opts.engine.backend, provider: opts.engine.provider ?? 'none' },
      {
        sessions: () => this.sessions.size,
        subscribers: () => [...this.sessions.values()].reduce((n, e) => n + e.subscribers.size, 0),
        queueDepth: () => this.batcher.depth,
        maxPending: () => this.maxPendingEver,
      },
      {
        bus: opts.bus ? () => opts.bus!.stats() : undefined,
        engine: opts.engine.stats ? () => opts.engine.stats!() : undefined,
      },
    );
    this.batcher = new Batcher(opts.engine, opts.batch, {
      onBatch: (size, ms) => {
        this.metrics.batchSize.observe(size);
        this.metrics.inference.observe(ms / 1000);
      },
      onQueueWait: (ms) => this.metrics.queueWait.observe(ms / 1000),
    });
    const handler = (req: IncomingMessage, res: ServerResponse) => this.route(req, res);
    // https.Server is a tls.Server, not an http.Server, but shares every part of it used here
    // ('connection' still reports the TCP socket, before the TLS handshake).
    this.http = opts.tls
      ? (createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, handler) as unknown as Server)
      : createServer(handler);
    this.wss = new WebSocketServer({
      noServer: true,
      // Checked against each frame header (and the running total of a fragmented message), so an
      // oversized message is refused before its payload is read, not after buffering it whole.
      maxPayload: this.limits.maxMessageBytes,
      perMessageDeflate: false,
      // Invalid UTF-8 in a text frame then fails as malformed_json instead of closing the connection.
      skipUTF8Validation: true,
      // ws answers ping frames itself and cuts a peer with more unanswered than this (its
      // default, 60, cut ordinary bursts); pongs are at most 127 bytes, so this bounds them.
      ...({ maxPendingAutoPongs: MAX_UNANSWERED_PINGS } as object),
      handleProtocols: (offered) =>
        offered.has(SUBPROTOCOL_PROTO) ? SUBPROTOCOL_PROTO : offered.has(SUBPROTOCOL_JSON) ? SUBPROTOCOL_JSON : false,
    });
    this.http.on('connection', (socket: Socket) => this.admit(socket));
    // The last line of defence: Node drops connections past this without accepting more fds.
    this.http.maxConnections = this.limits.maxConnections + this.limits.maxUnauthenticatedSockets + 16;
    this.http.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
  }

  /**
   * Every new TCP connection counts as unauthenticated until it is an accepted WebSocket. At the
   * cap the oldest such socket is closed: idle sockets held open cannot lock out newcomers (a
   * health check among them), and the process never runs out of file descriptors.
   */
  private admit(socket: Socket): void {
    if (this.loose.size >= this.limits.maxUnauthenticatedSockets) {
      const oldest = this.loose.values().next().value;
      if (oldest) {
        this.loose.delete(oldest);
        oldest.destroy();
        this.metrics.socketsEvicted.inc();
      }
    }
    this.loose.add(socket);
    socket.once('close', () => this.loose.delete(socket));
  }

  private maxPendingEver = 0;

  /** Starts listening; resolves with the bound address. */
  async listen(): Promise<{ host: string; port: number; url: string }> {
    const host = this.opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.opts.port ?? 8080, host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    const port = (this.http.address() as AddressInfo).port;
    const shown = host.includes(':') ? `[${host}]` : host;
    return { host, port, url: `${this.opts.tls ? 'https' : 'http'}://${shown}:${port}/` };
  }

  /** Open sessions' ids. */
  sessionIds(): string[] {
    return [...this.sessions.keys()];
  }

  /**
   * Graceful shutdown: refuse new connections, flush every session (each publisher gets its
   * final posteriors and `end`), close every socket, stop the batcher. The engine is the caller's.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.http.close();
      const entries = [...this.sessions.values()];
      await Promise.all(entries.map((e) => e.session.stop().catch(() => undefined)));
      for (const ws of this.sockets) {
        try {
          ws.close(1001, 'server shutting down');
        } catch {
          ws.terminate();
        }
      }
      await Promise.race([
        Promise.all([...this.sockets].map((ws) => new Promise((r) => (ws.readyState === ws.CLOSED ? r(null) : ws.once('close', r))))),
        new Promise((r) => setTimeout(r, 2000).unref()),
      ]);
      for (const ws of this.sockets) ws.terminate();
      await this.batcher.close();
      this.http.closeAllConnections();
    })();
    return this.closing;
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    if (requestUrl(req).pathname === '/v1/sessions') return void this.listSessions(req, res);
    void handleHttp(req, res, {
      health: () => ({
        status: this.closing ? 'shutting_down' : 'ok',
        model: this.opts.engine.model,
        backend: this.opts.engine.backend,
        provider: this.opts.engine.provider,
        sessions: this.sessions.size,
        ...(this.opts.bus ? { bus: this.opts.bus.stats() } : {}),
        ...(this.opts.engine.stats ? { engineStats: this.opts.engine.stats() } : {}),
      }),
      metrics: () => this.metrics.render(),
      metricsType: this.metrics.contentType,
      statsAllowed: (r, u) => statsAllowed(this.auth, r, u),
      log: this.log,
    });
  }

  /** A list of live session ids would undo unguessable ids, so it always needs a token: a
   *  subscribe or publish token when the server has them, else the metrics token; with no
   *  tokens at all listing is off. */
  private authorizeListing(req: IncomingMessage): void {
    const url = requestUrl(req);
    if (authOn(this.auth)) return authorize(this.auth, req, url, 'subscribe');
    if (!this.auth.metricsTokens?.length) {
      throw new UserError(
        'listing_disabled',
        'listing sessions needs a token: start the server with --subscribe-token, --publish-token or --metrics-token',
      );
    }
    if (!statsAllowed(this.auth, req, url)) throw new UserError('unauthorized', 'GET /v1/sessions needs the metrics token on this server');
  }

  /** GET /v1/sessions: the live sessions of every node sharing the bus (of this process without one). */
  private async listSessions(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body) + '\n');
    };
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, { error: { code: 'method_not_allowed', message: 'use GET' } });
      this.authorizeListing(req);
      const bus = this.opts.bus;
      const sessions = bus
        ? (await bus.list()).map((r) => ({ session: r.session, node: r.node, startedAt: r.startedAt, model: r.ready.model }))
        : [...this.sessions.values()].map((e) => ({
            session: e.session.id,
            node: null,
            startedAt: e.startedAt,
            model: e.session.ready.model,
          }));
      sessions.sort((a, b) => a.startedAt - b.startedAt);
      reply(200, { sessions });
    } catch (err) {
      if (!(err instanceof UserError)) {
        this.log.error({ err }, 'listing sessions failed');
        return reply(500, { error: { code: 'internal_error', message: 'listing sessions failed' } });
      }
      const status = err.code === 'bus_unavailable' ? 503 : err.code === 'unauthorized' ? 401 : 403;
      reply(status, { error: { code: err.code, message: err.message } });
    }
  }

  // ------------------------------------------------------------------ WebSocket

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {}); // a client resetting mid-handshake must not crash the server
    const url = requestUrl(req);
    const sub = /^\/v1\/subscribe\/([^/]*)$/.exec(url.pathname);
    if (url.pathname !== '/v1/stream' && !sub) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (this.closing) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    // Caps before the upgrade: a flood of idle sockets must not starve everyone else (or the
    // file descriptors /healthz needs).
    const address = req.socket.remoteAddress ?? '';
    const fromHere = this.perAddress.get(address) ?? 0;
    const full = this.sockets.size >= this.limits.maxConnections;
    if (full || fromHere >= this.limits.maxConnectionsPerAddress) {
      this.metrics.errors.inc({ code: 'too_many_connections' });
      const what = full ? 'server' : 'address';
      return refuse(socket, full ? 503 : 429, 'too_many_connections', `the ${what} connection limit is reached`, ['Retry-After: 5']);
    }
    const scope: Scope = sub ? 'subscribe' : 'publish';
    const subscribeTo = sub ? decodeSegment(sub[1]) : undefined;
    // Tokens are checked here, so a refused client never gets a WebSocket (401/403, not 101).
    try {
      authorize(this.auth, req, url, scope, subscribeTo === undefined ? undefined : (t) => this.sessionGrant(subscribeTo, t));
    } catch (err) {
      const e = err as UserError;
      this.log.info({ code: e.code, scope }, 'connection refused');
      this.metrics.errors.inc({ code: e.code });
      const status = refusalStatus(e.code);
      return refuse(socket, status, e.code, e.message, status === 401 ? ['WWW-Authenticate: Bearer'] : []);
    }
    // Every subscription takes one of its address's attempts, given back when it finds its
    // session: guessing ids is throttled, watching sessions is not.
    if (subscribeTo !== undefined && !this.misses.take(address)) {
      this.metrics.errors.inc({ code: 'too_many_unknown_sessions' });
      const wait = this.misses.retryAfter(address);
      return refuse(socket, 429, 'too_many_unknown_sessions', `too many subscriptions to sessions that do not exist: retry in ${wait} s`, [
        `Retry-After: ${wait}`,
      ]);
    }
    this.perAddress.set(address, fromHere + 1);
    let counted = true;
    const uncount = () => {
      if (!counted) return;
      counted = false;
      const n = (this.perAddress.get(address) ?? 1) - 1;
      if (n > 0) this.perAddress.set(address, n);
      else this.perAddress.delete(address);
    };
    socket.once('close', uncount);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.loose.delete(req.socket);
      this.sockets.add(ws);
      ws.once('close', () => {
        this.sockets.delete(ws);
        uncount();
      });
      const offered = String(req.headers['sec-websocket-protocol'] ?? '').trim();
      const encoding: Encoding = ws.protocol === SUBPROTOCOL_PROTO ? 'proto' : 'json';
      const out = this.outbox(ws, encoding, sub ? () => this.misses.refund(address) : undefined);
      this.codedReceiveErrors(ws, out);
      this.metrics.connections.inc({ endpoint: scope === 'publish' ? 'stream' : 'subscribe' });
      ws.on('error', (err) => this.log.debug({ err: err.message }, 'websocket error'));
      if (offered && !ws.protocol) {
        return out.fatal('unsupported_protocol', `unsupported subprotocol '${offered}' (use ${SUBPROTOCOL_JSON} or ${SUBPROTOCOL_PROTO})`);
      }
      this.heartbeat(ws);
      if (subscribeTo !== undefined) this.subscriber(ws, out, subscribeTo, url);
      else this.publisher(ws, out);
    });
  }

  /** Whether `token` is the subscribe token of session `id` (published by this process). */
  private sessionGrant(id: string, token: string): boolean {
    const own = this.sessions.get(id)?.subscribeToken;
    return own !== undefined && matches(token, [own]);
  }

  private outbox(ws: WebSocket, encoding: Encoding, onFound?: () => void): Outbox {
    return new Outbox(
      ws,
      serverCodec(encoding),
      { softLimit: this.limits.sendSoftLimit, hardLimit: this.limits.sendHardLimit, slowMs: this.limits.slowConsumerMs },
      {
        onShed: () => this.metrics.shed.inc(),
        onSlow: () => this.metrics.slowConsumers.inc(),
        onError: (code) => this.metrics.errors.inc({ code }),
        onFound,
      },
    );
  }

  /**
   * ws closes a connection whose frames break a limit or the WebSocket protocol (1009, 1002…)
   * and only then tells us; listening to its frame parser first lets the coded error go out
   * ahead of that close.
   */
  private codedReceiveErrors(ws: WebSocket, out: Outbox): void {
    const receiver = (ws as unknown as { _receiver?: EventEmitter })._receiver;
    receiver?.prependListener('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        this.log.info({ limit: this.limits.maxMessageBytes }, 'message over the size limit');
        out.fatal('message_too_large', `a message over the limit of ${this.limits.maxMessageBytes} bytes was refused unread`, 1009);
        // ws would go on reading (and discarding) the rest of the message while it waits for the
        // peer's close frame, which comes after it: megabytes of churn per connection. Stop
        // reading instead (after ws's own resume, queued next tick) and cut the connection once
        // the error and the close have had a moment to reach the peer.
        const socket = (ws as unknown as { _socket?: Duplex })._socket;
        process.nextTick(() => process.nextTick(() => socket?.pause()));
        setTimeout(() => ws.terminate(), OVERSIZE_LINGER_MS).unref();
      } else {
        out.fatal('websocket_protocol_error', `invalid WebSocket frame: ${err.message}`, 1002);
      }
    });
  }

  /** A bug while handling one connection's message ends that connection, never the server. */
  private guard(out: Outbox, fn: (data: RawData, isBinary: boolean) => void): (data: RawData, isBinary: boolean) => void {
    return (data, isBinary) => {
      try {
        fn(data, isBinary);
      } catch (err) {
        const { incident, message } = internalFailure('the server failed to handle a message');
        this.log.error({ err, incident }, 'message handler failed');
        out.fatal('internal_error', message, 1011);
      }
    };
  }

  /**
   * WebSocket ping every heartbeatMs; a peer that has not answered the previous one is gone
   * (a dropped network sends no FIN), so its connection and its session are ended.
   */
  private heartbeat(ws: WebSocket): void {
    if (!(this.limits.heartbeatMs > 0)) return;
    let alive = true;
    ws.on('pong', () => (alive = true));
    const timer = setInterval(() => {
      // A socket we paused for backpressure cannot read its pongs: that is not a dead peer.
      if (ws.isPaused) alive = true;
      if (!alive) {
        this.log.info('no pong: terminating connection');
        ws.terminate();
        return;
      }
      alive = false;
      try {
        ws.ping();
      } catch {
        /* closing */
      }
    }, this.limits.heartbeatMs);
    timer.unref();
    ws.once('close', () => clearInterval(timer));
  }

  /** Reads one frame into a message; sends the coded error and returns undefined if it is not one. */
  private read(out: Outbox, data: RawData, isBinary: boolean): ClientMessage | undefined {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    try {
      return out.codec.decode(bytes, isBinary);
    } catch (err) {
      const e = err as UserError;
      out.send({ type: 'error', code: e.code ?? 'invalid_message', message: e.message, fatal: false });
      return undefined;
    }
  }

  private publisher(ws: WebSocket, out: Outbox): void {
    let entry: Entry | undefined;
    let stopping = false;
    const log = this.log.child({ conn: 'publisher' });
    const startTimer =
      this.limits.startTimeoutMs > 0
        ? setTimeout(() => {
            if (!entry) out.fatal('start_timeout', `no 'start' within ${this.limits.startTimeoutMs} ms of connecting`);
          }, this.limits.startTimeoutMs)
        : undefined;
    ws.once('close', () => clearTimeout(startTimer));

    /** Messages that arrived while the bus registered the session, handled once it answers. */
    let starting: (() => void)[] | undefined;
    const handle = (data: RawData, isBinary: boolean, arrivedAt: number): void => {
      const msg = this.read(out, data, isBinary);
      if (!msg) return;
      switch (msg.type) {
        case 'ping':
          return out.send({ type: 'pong', id: msg.id ?? '' });
        case 'start': {
          if (entry || starting)
            return out.send({
              type: 'error',
              code: 'already_started',
              message: `this connection already publishes session '${entry?.session.id ?? msg.session ?? ''}'`,
              fatal: false,
            });
          if (this.opts.bus) {
            const queue: (() => void)[] = (starting = []);
            ws.pause(); // what the client sends meanwhile waits in the kernel, not here
            this.startOnBus(ws, out, msg)
              .then(
                (e) => {
                  entry = e;
                  if (e) {
                    clearTimeout(startTimer);
                    log.info({ session: e.session.id, bus: true }, 'session started');
                  }
                },
                () => {},
              )
              .finally(() => {
                starting = undefined;
                ws.resume();
                for (const run of queue) run();
              });
            return;
          }
          try {
            entry = this.startSession(ws, out, msg);
            clearTimeout(startTimer);
          } catch (err) {
            return out.send({ type: 'error', ...this.startFailure(err), fatal: false });
          }
          log.info({ session: entry.session.id, ...entry.session.settings.format, hopMs: entry.session.settings.hopMs }, 'session started');
          return;
        }
        case 'audio':
          if (!entry)
            return out.send({
              type: 'error',
              code: 'audio_before_start',
              message: "audio received before 'start': send a start message declaring the audio format first",
              fatal: false,
            });
          if (stopping)
            return out.send({ type: 'error', code: 'after_stop', message: "audio received after 'stop' was ignored", fatal: false });
          return entry.session.audio(msg.data, arrivedAt);
        case 'flush':
          if (!entry)
            return out.send({
              type: 'error',
              code: 'not_started',
              message: "'flush' before 'start': there is nothing to flush",
              fatal: false,
            });
          if (stopping) return;
          void entry.session.flush();
          return;
        case 'stop':
          if (!entry) return out.close(1000, 'stopped');
          if (stopping) return;
          stopping = true;
          void entry.session.stop();
          return;
      }
    };
    ws.on(
      'message',
      this.guard(out, (data, isBinary) => {
        const arrivedAt = performance.now();
        // Bounded by the pause above: only what ws had already read arrives here meanwhile.
        if (starting) starting.push(() => this.guard(out, (d, b) => handle(d, b, arrivedAt))(data, isBinary));
        else handle(data, isBinary, arrivedAt);
      }),
    );

    ws.once('close', () => {
      if (entry && this.sessions.get(entry.session.id) === entry) {
        // A publisher that vanishes ends its session now: nothing of it outlives the connection.
        entry.session.abort({ code: 'publisher_gone', message: 'the publisher disconnected before stopping the session' });
        this.sessions.delete(entry.session.id);
        log.info({ session: entry.session.id }, 'publisher gone');
      }
    });
  }

  /**
   * A start with a bus: the session id is claimed in the shared registry first (another node may
   * publish it). Resolves with the entry, or undefined after telling the publisher why not.
   */
  private async startOnBus(ws: WebSocket, out: Outbox, msg: Extract<ClientMessage, { type: 'start' }>): Promise<Entry | undefined> {
    const bus = this.opts.bus!;
    let session: Session | undefined;
    try {
      session = this.newSession(resolveStart(msg));
      let timer: NodeJS.Timeout | undefined;
      const claimed = await Promise.race([
        bus.claim(session.ready, { maxSubscribers: this.limits.maxSubscribersPerSession }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new UserError('bus_unavailable', `the bus did not register the session within ${CLAIM_TIMEOUT_MS} ms`)),
            CLAIM_TIMEOUT_MS,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      if (!claimed) throw new UserError('session_exists', `session '${session.id}' is already being published on another node`);
      if (ws.readyState !== ws.OPEN) {
        // The publisher left while the bus answered: end the session for anyone who waited on it.
        const gone = 'the publisher disconnected before the session began';
        bus.publish(session.id, { type: 'error', code: 'publisher_gone', message: gone, fatal: false });
        bus.publish(session.id, { type: 'end', windows: 0, audioMs: 0, skipped: 0 });
        bus.release(session.id);
        session.abort({ code: 'publisher_gone', message: gone });
        return undefined;
      }
      return this.register(ws, out, session);
    } catch (err) {
      session?.abort({ code: 'cancelled', message: 'the session did not start' });
      out.send({ type: 'error', ...this.startFailure(err), fatal: false });
      return undefined;
    }
  }

  /** A refused `start`: the user's own problem as it is, anything else as an incident in the log. */
  private startFailure(err: unknown): { code: string; message: string } {
    if (err instanceof UserError) return { code: err.code, message: err.message };
    const { incident, message } = internalFailure('the session could not start');
    this.log.error({ err, incident }, 'start failed');
    return { code: 'internal_error', message };
  }

  private startSession(ws: WebSocket, out: Outbox, msg: Extract<ClientMessage, { type: 'start' }>): Entry {
    return this.register(ws, out, this.newSession(resolveStart(msg)));
  }

  private newSession(settings: ReturnType<typeof resolveStart>): Session {
    if (this.sessions.has(settings.session))
      throw new UserError('session_exists', `session '${settings.session}' is already being published`);
    if (this.sessions.size >= this.limits.maxSessions)
      throw new UserError('server_full', `the server already has its maximum of ${this.limits.maxSessions} sessions`);
    const engine = this.opts.engine;
    return new Session(settings, {
      batcher: this.batcher,
      model: engine.model,
      backend: engine.backend,
      labels: engine.labels,
      maxPendingWindows: this.limits.maxPendingWindows,
      onWindow: (ms) => {
        this.metrics.windows.inc();
        this.metrics.latency.observe(ms / 1000);
      },
      onSkipped: (n) => this.metrics.windowsSkipped.inc(n),
      onInternalError: (err, incident) => this.log.error({ err, incident, session: settings.session }, 'session failed'),
    });
  }

  private register(ws: WebSocket, out: Outbox, session: Session): Entry {
    const { settings } = session;
    const bus = this.opts.bus;
    out.posteriors = settings.posteriors;
    const entry: Entry = {
      session,
      publisher: out,
      subscribers: new Set(),
      history: new SessionHistory(this.opts.history ?? DEFAULT_HISTORY),
      startedAt: Date.now(),
      subscribeToken: authOn(this.auth) ? randomBytes(16).toString('base64url') : undefined,
    };
    session.onPressure = (paused) => {
      if (paused) {
        this.metrics.pauses.inc();
        ws.pause();
      } else ws.resume();
      if (session.maxPending > this.maxPendingEver) this.maxPendingEver = session.maxPending;
    };
    this.sessions.set(settings.session, entry);
    this.metrics.sessionsStarted.inc();
    out.send(entry.subscribeToken ? { ...session.ready, subscribeToken: entry.subscribeToken } : session.ready);
    const waiting = this.waiting.get(session.id);
    this.waiting.delete(session.id);
    waiting?.forEach((attach) => attach(entry));
    session.messages$.subscribe({
      next: (m) => {
        out.send(m);
        for (const s of entry.subscribers) s.send(m);
        entry.history.push(m);
        bus?.publish(session.id, m);
      },
      complete: () => {
        this.log.info(
          { session: session.id, windows: session.windows, skipped: session.skipped, audioMs: Math.round(session.audioMs) },
          'session ended',
        );
        if (session.maxPending > this.maxPendingEver) this.maxPendingEver = session.maxPending;
        if (this.sessions.get(session.id) === entry) this.sessions.delete(session.id);
        bus?.release(session.id);
        for (const s of entry.subscribers) s.close(1000, 'session ended');
        entry.subscribers.clear();
        out.close(1000, 'session ended');
      },
    });
    return entry;
  }

  private subscriber(ws: WebSocket, out: Outbox, id: string, url: URL): void {
    const p = url.searchParams.get('posteriors');
    out.posteriors = !(p === '0' || p === 'false');
    ws.on(
      'message',
      this.guard(out, (data, isBinary) => {
        const msg = this.read(out, data, isBinary);
        if (!msg) return;
        if (msg.type === 'ping') return out.send({ type: 'pong', id: msg.id ?? '' });
        out.send({
          type: 'error',
          code: 'subscriber_cannot_publish',
          message: `a subscriber connection only accepts 'ping', not '${msg.type}'`,
          fatal: false,
        });
      }),
    );
    let waitMs: number;
    try {
      waitMs = parseWait(url.searchParams.get('wait'));
    } catch (err) {
      const e = err as UserError;
      return out.fatal(e.code, e.message);
    }
    const entry = isSessionId(id) ? this.sessions.get(id) : undefined;
    if (entry && this.opts.bus) return void this.attachSeated(ws, out, entry, waitMs);
    if (entry) return this.attach(ws, out, entry);
    if (!isSessionId(id)) return out.fatal('unknown_session', `no session '${id}' is being published on this server`);
    if (this.opts.bus) return this.follow(ws, out, id, waitMs);
    if (!(waitMs > 0)) return out.fatal('unknown_session', `no session '${id}' is being published on this server`);
    // Wait here for it to start.
    let set = this.waiting.get(id);
    if (!set) this.waiting.set(id, (set = new Set()));
    const attach = (e: Entry) => {
      clearTimeout(timer);
      this.attach(ws, out, e);
    };
    const forget = () => {
      clearTimeout(timer);
      const s = this.waiting.get(id);
      if (s?.delete(attach) && s.size === 0) this.waiting.delete(id);
    };
    const timer = setTimeout(() => {
      forget();
      out.fatal('session_not_started', `session '${id}' did not start within ${waitMs} ms`);
    }, waitMs);
    set.add(attach);
    ws.once('close', forget);
  }

  /** A subscriber of a session of this process: ready, the bounded history, then live. */
  private attach(ws: WebSocket, out: Outbox, entry: Entry): void {
    if (!out.open) return;
    if (entry.subscribers.size >= this.limits.maxSubscribersPerSession) {
      const id = entry.session.id;
      return out.fatal('too_many_subscribers', `session '${id}' already has ${this.limits.maxSubscribersPerSession} subscribers`);
    }
    out.send(entry.session.ready);
    for (const m of entry.history.replay()) out.send(m);
    entry.subscribers.add(out);
    ws.once('close', () => entry.subscribers.delete(out));
  }

  /**
   * A subscriber on the publishing node of a cluster: it takes one of the session's seats on the
   * bus first, so the cap counts the session's subscribers on every node. A bus that does not
   * answer leaves this node's own count as the only cap (the node keeps serving its own clients).
   */
  private async attachSeated(ws: WebSocket, out: Outbox, entry: Entry, waitMs: number): Promise<void> {
    const id = entry.session.id;
    let release: (() => void) | undefined;
    try {
      const seat = await this.opts.bus!.seat(id);
      if (seat.status === 'full')
        return out.fatal('too_many_subscribers', `session '${id}' already has ${seat.cap} subscribers across all nodes`);
      if (seat.status === 'taken') release = seat.release;
    } catch (err) {
      this.log.warn({ session: id, err: (err as Error).message }, 'subscriber seat not counted on the bus');
    }
    if (!out.open) return release?.();
    // The session ended while the bus answered: the subscriber follows what is left of it there.
    if (this.sessions.get(id) !== entry) {
      release?.();
      return this.follow(ws, out, id, waitMs);
    }
    this.attach(ws, out, entry);
    if (release) ws.once('close', release);
  }

  /** A subscriber here of a session another node may publish: through the bus. */
  private follow(ws: WebSocket, out: Outbox, id: string, waitMs: number): void {
    const feed: Feed = this.opts.bus!.follow(
      id,
      { waitMs, history: this.opts.history ?? DEFAULT_HISTORY },
      {
        message: (m) => {
          if (m.type === 'error' && m.fatal) out.fatal(m.code, m.message);
          else out.send(m);
        },
        done: () => out.close(1000, 'session ended'),
      },
    );
    ws.once('close', () => feed.close());
  }
}

export async function startServer(opts: ServerOptions): Promise<{ server: EmostreamServer; url: string; port: number }> {
  const server = new EmostreamServer(opts);
  const { url, port } = await server.listen();
  return { server, url, port };
}
