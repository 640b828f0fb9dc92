import type { ReplicateParams } from './params.js';
import type { Prediction } from './prediction.js';

/**
 * Finding a prediction that was created but whose id never reached us: the create's answer was lost (it timed out,
 * the connection dropped during `Prefer: wait`) or the worker died while it waited. Replicate lists the account's
 * predictions newest first (`GET /predictions?created_after=…`, 100 per page, `next` for the older ones), each with
 * its model, input and `created_at`. The paging and matching are here; the provider makes the requests.
 */

/** Our clock and Replicate's differ a little: a prediction this much older than `since` still counts. */
export const LOOKUP_SLACK_MS = 60_000;
/** Pages read at most (100 predictions each): the look stays a few requests even on a busy account. */
export const MAX_LOOKUP_PAGES = 5;
/** A finished output older than this may be deleted any moment (Replicate keeps files about an hour): not worth resuming. */
const OUTPUT_KEPT_MS = 50 * 60_000;

/** A prediction as the list shows it. `webhook` is not documented there: it is used when present. */
export interface ListedPrediction extends Prediction {
  model?: string;
  input?: unknown;
  created_at?: string;
  completed_at?: string | null;
  webhook?: unknown;
}

/** One page of `GET /predictions`. */
export interface PredictionPage {
  results?: unknown;
  next?: unknown;
}

/**
 * The predictions since `since` (less {@link LOOKUP_SLACK_MS}) that this request made, newest first, reading at most
 * {@link MAX_LOOKUP_PAGES} pages. `page(query)` fetches `GET {base}/predictions?{query}` and answers undefined when
 * the API has no list (a proxy): then nothing is found.
 */
export async function listOurPredictions(
  page: (query: string) => Promise<PredictionPage | undefined>,
  params: ReplicateParams,
  webhookUrl: string | undefined,
  since: number,
): Promise<ListedPrediction[]> {
  const after = since - LOOKUP_SLACK_MS;
  const ours: ListedPrediction[] = [];
  let query = `created_after=${encodeURIComponent(new Date(after).toISOString())}`;
  for (let n = 0; n < MAX_LOOKUP_PAGES; n++) {
    const body = await page(query);
    const results = Array.isArray(body?.results) ? (body.results as unknown[]).filter((p): p is ListedPrediction => !!p && typeof p === 'object') : [];
    ours.push(...results.filter((p) => isOurPrediction(p, params, webhookUrl, after)));
    const next = cursorQuery(body?.next);
    if (!next || reachedOlder(results, after)) break;
    query = next;
  }
  return ours;
}

/** The query (the cursor) of a page's `next` link, whatever host it names; undefined on the last page. */
function cursorQuery(next: unknown): string | undefined {
  if (typeof next !== 'string' || next === '') return undefined;
  try {
    return new URL(next, 'http://base.invalid').search.slice(1) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a listed prediction is one this job created: same model, created since `sinceMs`, and either the same
 * webhook URL (it carries the job id, so two jobs asking for the same input are told apart) or, when the list shows
 * no webhook, the exact same input, seed included (each job's seed is fixed when it is submitted). Extra fields in
 * the listed input (defaults the API filled in) do not matter. (A list shown with its images rewritten, as links to
 * uploaded files, does not match: the job then creates anew rather than resume something that may not be its own.)
 */
export function isOurPrediction(p: ListedPrediction, params: ReplicateParams, webhookUrl: string | undefined, sinceMs: number): boolean {
  if (typeof p.id !== 'string' || p.id === '') return false;
  if (typeof p.model === 'string' && p.model !== params.model) return false;
  const created = typeof p.created_at === 'string' ? Date.parse(p.created_at) : NaN;
  if (Number.isFinite(created) && created < sinceMs) return false;
  if (webhookUrl !== undefined && typeof p.webhook === 'string') return p.webhook === webhookUrl;
  if (!p.input || typeof p.input !== 'object') return false;
  const listed = p.input as Record<string, unknown>;
  return Object.entries(params.input).every(([key, value]) => sameValue(listed[key], value));
}

/** Input values compare by value; lists (reference images) element by element, in order. */
function sameValue(listed: unknown, sent: unknown): boolean {
  if (!Array.isArray(sent)) return listed === sent;
  return Array.isArray(listed) && listed.length === sent.length && sent.every((item, i) => listed[i] === item);
}

/** True once a page reaches predictions older than `sinceMs` (the list is newest first): older pages cannot match. */
export function reachedOlder(page: readonly ListedPrediction[], sinceMs: number): boolean {
  const last = page[page.length - 1];
  const created = typeof last?.created_at === 'string' ? Date.parse(last.created_at) : NaN;
  return Number.isFinite(created) && created < sinceMs;
}

/**
 * Of the predictions an earlier run created, the one to resume and the running ones to cancel (each costs money;
 * one image is all the job needs). Preferred: one with output, then running, then queued, then failed (resuming a
 * failed one ends the job as the lost answer would have: a refusal is not paid for again). Never resumed: canceled
 * or aborted ones (given up on), and outputs that are gone or about to be.
 */
export function pickEarlier(found: readonly ListedPrediction[], now = Date.now()): { resume: ListedPrediction | undefined; cancel: ListedPrediction[] } {
  const usable = found.filter((p) => rank(p, now) > 0);
  const resume = usable.reduce<ListedPrediction | undefined>((best, p) => (best === undefined || rank(p, now) > rank(best, now) ? p : best), undefined);
  return { resume, cancel: found.filter((p) => p !== resume && isRunning(p)) };
}

/** Whether the prediction still runs (and costs). */
export function isRunning(p: ListedPrediction): boolean {
  return p.status === 'starting' || p.status === 'processing';
}

function rank(p: ListedPrediction, now: number): number {
  if (p.data_removed === true) return 0;
  switch (p.status) {
    case 'succeeded': {
      const completed = typeof p.completed_at === 'string' ? Date.parse(p.completed_at) : NaN;
      return Number.isFinite(completed) && now - completed > OUTPUT_KEPT_MS ? 0 : 4;
    }
    case 'processing':
      return p.output ? 4 : 3;
    case 'starting':
      return 2;
    case 'failed':
      return 1;
    default:
      return 0;
  }
}
