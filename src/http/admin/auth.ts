import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The realm browsers show in their password prompt for the operator pages. */
export const ADMIN_REALM = 'fluxbot';

/**
 * Whether a request carries the operator token: `Authorization: Bearer <token>` (scripts, curl) or basic auth with
 * any user name and the token as password (a browser's own prompt). Both sides are hashed before the comparison, so
 * it takes the same time whatever the length or content of the guess.
 */
export function hasAdminToken(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization;
  if (!header) return false;
  const space = header.indexOf(' ');
  if (space < 0) return false;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer') return sameSecret(value, token);
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 && sameSecret(decoded.slice(colon + 1), token);
  }
  return false;
}

/** Answers 401 with the challenge that makes a browser ask for the token. */
export function refuse(res: ServerResponse): void {
  const body = JSON.stringify({ error: 'the operator pages need ADMIN_TOKEN (Bearer, or basic auth with it as password)' });
  res.writeHead(401, {
    'www-authenticate': `Basic realm="${ADMIN_REALM}", charset="UTF-8"`,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * Whether a state-changing request comes from the operator pages themselves. A browser sends basic auth to any page
 * that asks, including a form on another site posting here; it also says where the form came from (Origin or
 * Sec-Fetch-Site), so such a cross-site request is refused. Scripts send neither header and pass.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.headers.origin;
  if (origin === undefined || origin === 'null') return origin === undefined;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

function sameSecret(given: string, token: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}
