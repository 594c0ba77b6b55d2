// Who may publish and subscribe. Off unless tokens are configured; then every WebSocket needs a
// token, sent as `Authorization: Bearer <token>` or `?token=<token>` (browsers cannot set
// headers on a WebSocket). Publish tokens are good for subscribing too. Browsers are also
// checked against an Origin allow-list when one is configured.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { UserError } from '../errors.js';

export type Scope = 'publish' | 'subscribe';

export interface AuthConfig {
  publishTokens: readonly string[];
  subscribeTokens: readonly string[];
  /** Allowed Origin header values (e.g. "https://app.example.com"); empty = any origin. */
  origins: readonly string[];
  /** Tokens for /metrics and /healthz's details; none = both public. */
  metricsTokens?: readonly string[];
}

export const NO_AUTH: AuthConfig = { publishTokens: [], subscribeTokens: [], origins: [] };

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export function matches(token: string, list: readonly string[]): boolean {
  const d = digest(token);
  let hit = false;
  for (const t of list) hit = timingSafeEqual(d, digest(t)) || hit; // no early exit: constant time per list
  return hit;
}

export function tokenOf(req: IncomingMessage, url: URL): string | undefined {
  const h = req.headers.authorization;
  if (h) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    if (m) return m[1];
  }
  return url.searchParams.get('token') ?? undefined;
}

/** Whether this request may read /metrics and /healthz's details. */
export function statsAllowed(cfg: AuthConfig, req: IncomingMessage, url: URL): boolean {
  const list = cfg.metricsTokens ?? [];
  if (list.length === 0) return true;
  const token = tokenOf(req, url);
  return token !== undefined && matches(token, list);
}

/** Whether the server asks for tokens at all. */
export function authOn(cfg: AuthConfig): boolean {
  return cfg.publishTokens.length > 0 || cfg.subscribeTokens.length > 0;
}

/** The HTTP status that refuses a request for an authorize() error code. */
export function refusalStatus(code: string): 401 | 403 {
  return code === 'unauthorized' || code === 'bad_token' ? 401 : 403;
}

/**
 * Throws a UserError (unauthorized, bad_token, forbidden, origin_not_allowed) when the request may
 * not proceed. `sessionGrant` accepts a session's own subscribe token (subscribe scope only).
 */
export function authorize(cfg: AuthConfig, req: IncomingMessage, url: URL, scope: Scope, sessionGrant?: (token: string) => boolean): void {
  const origin = req.headers.origin;
  if (cfg.origins.length > 0 && origin !== undefined && !cfg.origins.includes(origin)) {
    throw new UserError('origin_not_allowed', `origin ${origin} is not allowed to connect to this server`);
  }
  if (!authOn(cfg)) return;
  const token = tokenOf(req, url);
  if (token === undefined) {
    throw new UserError(
      'unauthorized',
      `this server needs a ${scope} token: send "Authorization: Bearer <token>" or add ?token=<token> to the URL`,
    );
  }
  if (matches(token, cfg.publishTokens)) return;
  if (matches(token, cfg.subscribeTokens)) {
    if (scope === 'subscribe') return;
    throw new UserError('forbidden', 'this token may only subscribe, not publish');
  }
  if (scope === 'subscribe' && sessionGrant?.(token)) return;
  throw new UserError('bad_token', 'the token is not valid for this server');
}
