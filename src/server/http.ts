// The plain-HTTP side of the server: the demo page, /healthz and /metrics.
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';

const DEMO_DIR = new URL('./demo/', import.meta.url);
const DEMO_FILES: Record<string, [string, string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/demo.js': ['demo.js', 'text/javascript; charset=utf-8'],
  '/worklet.js': ['worklet.js', 'text/javascript; charset=utf-8'],
};

export interface Health {
  status: 'ok' | 'shutting_down';
  model?: string;
  backend?: string;
  /** ONNX Runtime's execution provider (cpu, webgpu, cuda); absent for tfjs. */
  provider?: string;
  sessions?: number;
  /** The message bus's counters, when the server shares sessions through one. */
  bus?: object;
  /** The engine's own counters, when it has any (a remote engine). */
  engineStats?: object;
}

export interface HttpContext {
  health(): Health;
  metrics(): Promise<string>;
  metricsType: string;
  /** Whether the request may see /metrics and the details of /healthz (a metrics token). */
  statsAllowed(req: IncomingMessage, url: URL): boolean;
  log: Logger;
}

/** The request's path and query; odd request targets parse as "/" rather than throwing. */
export function requestUrl(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return new URL('http://localhost/');
  }
}

function reply(res: ServerResponse, status: number, type: string, body: string | Uint8Array): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

export async function handleHttp(req: IncomingMessage, res: ServerResponse, ctx: HttpContext): Promise<void> {
  const url = requestUrl(req);
  try {
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'text/plain', 'method not allowed\n');
    if (url.pathname === '/healthz') {
      const h = ctx.health();
      const body = ctx.statsAllowed(req, url) ? h : { status: h.status };
      return reply(res, h.status === 'ok' ? 200 : 503, 'application/json', JSON.stringify(body) + '\n');
    }
    if (url.pathname === '/metrics') {
      if (!ctx.statsAllowed(req, url))
        return reply(res, 401, 'text/plain', 'unauthorized: /metrics needs the metrics token (Authorization: Bearer <token> or ?token=)\n');
      return reply(res, 200, ctx.metricsType, await ctx.metrics());
    }
    const file = DEMO_FILES[url.pathname];
    if (file) return reply(res, 200, file[1], await readFile(new URL(file[0], DEMO_DIR)));
    if (url.pathname.startsWith('/v1/'))
      return reply(res, 426, 'text/plain', 'this endpoint speaks WebSocket (subprotocol emostream.v1.json or emostream.v1.proto)\n');
    reply(res, 404, 'text/plain', 'not found\n');
  } catch (err) {
    ctx.log.error({ err }, 'http request failed');
    if (!res.headersSent) reply(res, 500, 'text/plain', 'internal error\n');
  }
}
