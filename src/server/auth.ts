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
}

export const NO_AUTH: AuthConfig = { publishTokens: [], subscribeTokens: [], origins: [] };

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function matches(token: string, list: readonly string[]): boolean {
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

/** Throws a UserError (unauthorized, bad_token, forbidden, origin_not_allowed) when the request may not proceed. */
export function authorize(cfg: AuthConfig, req: IncomingMessage, url: URL, scope: Scope): void {
  const origin = req.headers.origin;
  if (cfg.origins.length > 0 && origin !== undefined && !cfg.origins.includes(origin)) {
    throw new UserError('origin_not_allowed', `origin ${origin} is not allowed to connect to this server`);
  }
  if (cfg.publishTokens.length === 0 && cfg.subscribeTokens.length === 0) return;
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
  throw new UserError('bad_token', 'the token is not valid for this server');
}
