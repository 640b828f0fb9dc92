import { readBody } from '../../http/read-body.js';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Headers every playground answer carries: no sniffing, no framing, no referrer. */
const BASE_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** The page's policy: its own script, style, images and API only. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** A JSON answer with the playground's headers. */
export function sendJson(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...BASE_HEADERS, ...extra, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** An error answer: `{ error }` with the text the page shows, plus the field it is about when there is one. */
export function sendError(res: ServerResponse, status: number, error: string, more: Record<string, unknown> = {}): void {
  sendJson(res, status, { error, ...more });
}

/** Bytes (an image, a page file) with their type, the playground's headers and the page's content policy. */
export function sendBytes(res: ServerResponse, contentType: string, bytes: Buffer, cache = 'no-store'): void {
  res.writeHead(200, { ...BASE_HEADERS, 'cache-control': cache, 'content-type': contentType, 'content-length': bytes.length, 'content-security-policy': CSP });
  res.end(bytes);
}

/** A plain-text refusal for a page request (the browser shows it as is). */
export function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { ...BASE_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Reads a JSON body of at most `max` bytes: the value, TOO_LARGE or INVALID. */
export async function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  const body = await readBody(req, max);
  if (body === undefined) return TOO_LARGE;
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return INVALID;
  }
}
/** readJson: the body was larger than allowed (the rest was discarded). */
export const TOO_LARGE = Symbol('too large');
/** readJson: the body was not JSON. */
export const INVALID = Symbol('invalid');

const PAGE_FILES: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/assets/app.js': 'app.js',
  '/assets/image-actions.js': 'image-actions.js',
  '/assets/style.css': 'style.css',
};
const PAGE_TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

/**
 * The page's static files, read from `page/` beside this module (src/ under tsx, dist/ after `npm run build`, which
 * copies the folder), once, then served from memory.
 */
export class PageFiles {
  private readonly cache = new Map<string, Promise<Buffer>>();

  /** Whether `path` is one of the page's files. */
  has(path: string): boolean {
    return path in PAGE_FILES;
  }

  async serve(res: ServerResponse, path: string): Promise<void> {
    const name = PAGE_FILES[path]!;
    let file = this.cache.get(name);
    if (!file) {
      file = readFile(new URL(`./page/${name}`, import.meta.url));
      file.catch(() => this.cache.delete(name));
      this.cache.set(name, file);
    }
    sendBytes(res, PAGE_TYPES[name.split('.').pop()!]!, await file);
  }
}
