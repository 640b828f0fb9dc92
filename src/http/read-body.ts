import type { IncomingMessage } from 'node:http';

/**
 * Reads a request body of at most `max` bytes; undefined when it is larger (declared or as it streams in: the rest
 * is discarded, never buffered). Every route that reads a body (webhooks, the playground's API, the admin page) uses
 * this one.
 */
export async function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > max) {
    req.resume();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > max) {
      req.resume();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
