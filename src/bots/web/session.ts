import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The playground's cookie name. */
export const SESSION_COOKIE = 'fluxbot_playground';
/** A year: the session is the person (their quota, their images), so it should not vanish with the browser. */
const MAX_AGE_SECONDS = 365 * 86_400;
const SESSION_ID = /^[A-Za-z0-9_-]{22}$/;

/** One browser: its person id and whether it signed in with PLAYGROUND_TOKEN. `fresh`: the cookie must be (re)set. */
export interface Session {
  id: string;
  signedIn: boolean;
  fresh: boolean;
}

/**
 * Signed session cookies: `<id>.<signed in 0|1>.<HMAC-SHA256>`. The signing key is derived from the server secret
 * and the playground token, so changing PLAYGROUND_TOKEN signs everyone out. A cookie whose signature does not
 * check (forged, altered, another deployment's) is ignored and a new session starts: never someone else's.
 */
export class SessionCodec {
  private readonly key: Buffer;

  constructor(secret: string, token: string | undefined) {
    this.key = createHmac('sha256', secret).update(`fluxbot:playground-session:${token ?? ''}`).digest();
  }

  /** The request's session, or a new one (marked fresh) when it has none or its cookie does not verify. */
  read(req: IncomingMessage): Session {
    const value = cookie(req, SESSION_COOKIE);
    const parts = value?.split('.') ?? [];
    if (parts.length === 3) {
      const [id, flag, sig] = parts as [string, string, string];
      if (SESSION_ID.test(id) && (flag === '0' || flag === '1') && this.verify(`${id}.${flag}`, sig)) {
        return { id, signedIn: flag === '1', fresh: false };
      }
    }
    return { id: randomBytes(16).toString('base64url'), signedIn: false, fresh: true };
  }

  /** Sets the cookie: HttpOnly (no script reads it), SameSite=Strict (no other site sends it), Secure over https. */
  write(res: ServerResponse, session: Session, secure: boolean): void {
    const payload = `${session.id}.${session.signedIn ? '1' : '0'}`;
    const attrs = [`${SESSION_COOKIE}=${payload}.${this.sign(payload)}`, 'Path=/', `Max-Age=${MAX_AGE_SECONDS}`, 'HttpOnly', 'SameSite=Strict'];
    if (secure) attrs.push('Secure');
    res.setHeader('set-cookie', attrs.join('; '));
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }

  private verify(payload: string, sig: string): boolean {
    const want = Buffer.from(this.sign(payload));
    const got = Buffer.from(sig);
    return got.length === want.length && timingSafeEqual(got, want);
  }
}

/** Compares a typed token with PLAYGROUND_TOKEN in constant time (hashes first, so lengths leak nothing either). */
export function tokenMatches(given: string, expected: string): boolean {
  const a = createHmac('sha256', 'fluxbot:playground-token').update(given).digest();
  const b = createHmac('sha256', 'fluxbot:playground-token').update(expected).digest();
  return timingSafeEqual(a, b);
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
