import { createHmac } from 'node:crypto';

/** The app's HTTP answer to a signed request. */
export interface HttpAnswer {
  via: 'http';
  /** Status 200 (the app acknowledged). */
  ok: boolean;
  status: number;
  /** Parsed JSON when the app answered JSON, else the text (`''` for a bare ack). */
  body: unknown;
  text: string;
  headers: Record<string, string>;
}

/** Options of {@link signedPost}: defaults sign correctly; override them to forge. */
export interface SignOptions {
  /** Secret to sign with. Default: the fake's signing secret. */
  secret?: string;
  /** Unix seconds to put in `X-Slack-Request-Timestamp` and in the signed base string. Default: now. */
  timestamp?: number;
  /** Use this `X-Slack-Signature` verbatim instead of computing one. */
  signature?: string;
  /** Default `application/x-www-form-urlencoded` (exactly: Bolt compares the content type as a string). */
  contentType?: string;
  headers?: Record<string, string>;
}

/** `v0=` + hex HMAC-SHA256(secret, `v0:<timestamp>:<raw body>`), Slack's request signature. */
export function signSlackRequest(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** POSTs `body` to the app the way Slack does (signature, timestamp, Slackbot user agent) and returns its answer. */
export async function signedPost(url: string, body: string, secret: string, options: SignOptions = {}): Promise<HttpAnswer> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': options.contentType ?? 'application/x-www-form-urlencoded',
      'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': options.signature ?? signSlackRequest(options.secret ?? secret, timestamp, body),
      ...options.headers,
    },
    body,
  });
  const text = await response.text();
  let parsed: unknown = text;
  if ((response.headers.get('content-type') ?? '').includes('json') && text.length > 0) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { via: 'http', ok: response.status === 200, status: response.status, body: parsed, text, headers: Object.fromEntries(response.headers) };
}

/** Slack's form encoding of an interactive payload: one `payload` field holding JSON. */
export function interactiveForm(payload: unknown): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}
