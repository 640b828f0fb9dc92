import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { plainTime, refusalText } from '../../commands/replies.js';
import type { Requester } from '../../core/ports.js';
import type { RerollResult } from '../../core/queue/generation-service.js';
import { INVALID, readJson, sendError, sendJson, TOO_LARGE } from './http-util.js';
import { WEB_TEXT } from './web-text.js';

/** The page's id for one click (a UUID): what makes a click sent twice one request. */
export const REQUEST_ID = /^[A-Za-z0-9-]{8,64}$/;
/** A playground image id as the API takes it (checked before anything is looked up). */
export const IMAGE_ID = /^[A-Za-z0-9_-]{1,100}$/;

/**
 * The JSON object body, or undefined after answering why there is none. A body past `maxBytes` is answered with
 * `tooLarge` (default: the form's, which is about its images).
 */
export async function readObject(
  req: IncomingMessage,
  res: ServerResponse,
  maxBytes: number,
  tooLarge: { text: string; field?: string } = { text: WEB_TEXT.bodyTooLarge, field: 'image_prompt' },
): Promise<Record<string, unknown> | undefined> {
  const body = await readJson(req, maxBytes);
  if (body === TOO_LARGE) sendError(res, 413, tooLarge.text, tooLarge.field === undefined ? {} : { field: tooLarge.field });
  else if (body === INVALID || typeof body !== 'object' || body === null || Array.isArray(body)) sendError(res, 400, WEB_TEXT.badJson);
  else return body as Record<string, unknown>;
  return undefined;
}

/** What a submission came to, as the page shows it: queued (202), already under way (200), refused (403), gone (404). */
export function answerSubmit(res: ServerResponse, result: RerollResult): void {
  switch (result.status) {
    case 'queued':
      return sendJson(res, 202, { jobId: result.jobId, position: result.position, status: WEB_TEXT.queued(result.position) });
    case 'duplicate':
      return sendJson(res, 200, { jobId: result.jobId, status: WEB_TEXT.duplicate });
    case 'refused':
      return sendError(res, 403, refusalText(result, plainTime), { reason: result.reason });
    case 'not_found':
      return sendError(res, 404, WEB_TEXT.notFound);
  }
}

/** One click is charged once, even when the browser sends it twice: keyed by the page's request id. */
export function dedupeKey(requester: Requester, requestId: string | undefined): string {
  return `web:${requester.userId}:${requestId ?? randomUUID()}`;
}

/** The body's request id when it is well formed. */
export function requestIdOf(body: Record<string, unknown>): string | undefined {
  return typeof body.requestId === 'string' && REQUEST_ID.test(body.requestId) ? body.requestId : undefined;
}
