import { formatUsd } from '../../core/prices.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RedisClient } from '../../core/redis-connection.js';
import type { GenerationQueue } from '../../core/queue/generation-queue.js';
import type { ProgressEvent, ProgressFeed } from '../../core/queue/progress-feed.js';
import { WEB_TEXT } from './web-text.js';

export interface JobStreamDeps {
  queue: GenerationQueue;
  /** Reads the queue's lists for the job's place in it. */
  redis: RedisClient;
  /** Job progress (the bot role's feed); without it the stream only polls the job. */
  feed?: ProgressFeed | undefined;
  /** How often the job itself is read (its place in the queue, an event missed). Default 2 s. */
  pollMs?: number;
  /** How many images the delivered message carries (a gallery: 2 to 4); without it, 1. */
  imageCount?: (imageId: string) => Promise<number>;
}

/** What the page gets: a status line, then one final `done` (the image id) or `failed` (why). */
type StreamEvent = { event: 'status'; text: string; stage: string } | { event: 'done'; imageId: string; images: number; cost?: string } | { event: 'failed'; text: string };

/** The `done` event: the image id, how many images it has (a gallery: 2 to 4), and what it cost (`$0.045`) when known. */
function done(imageId: string, images: number, costMicros: number | undefined): StreamEvent {
  return costMicros === undefined ? { event: 'done', imageId, images } : { event: 'done', imageId, images, cost: formatUsd(costMicros) };
}

/**
 * A job's live status as server-sent events, for its owner (the caller checks). Listens to the progress feed first,
 * then reads the job, so a job that finished before the page connected still ends the stream with its result; a
 * slow poll covers any event missed while Redis streams were catching up.
 */
export function streamJob(deps: JobStreamDeps, req: IncomingMessage, res: ServerResponse, jobId: string): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-accel-buffering': 'no', // a buffering proxy would hold the events back until the job ends
  });
  let ended = false;
  let lastAhead: number | undefined;
  const send = (e: StreamEvent): void => {
    if (ended) return;
    const { event, ...data } = e;
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    if (event !== 'status') end();
  };
  const finish = async (imageId: string, costMicros: number | undefined): Promise<void> => {
    const images = imageId === '' || !deps.imageCount ? 1 : await deps.imageCount(imageId).catch(() => 1);
    send(done(imageId, Math.max(1, images), costMicros));
  };
  const check = async (first: boolean): Promise<void> => {
    const job = await deps.queue.getJob(jobId).catch(() => undefined);
    if (!job) return send({ event: 'failed', text: WEB_TEXT.notFound });
    const state = await job.getState().catch(() => 'unknown');
    if (state === 'completed') {
      return finish(job.returnvalue?.messageId ?? job.data.delivered?.messageId ?? '', job.returnvalue?.costMicros ?? job.data.stored?.costMicros);
    }
    if (state === 'failed') return send({ event: 'failed', text: job.data.failure?.message ?? WEB_TEXT.failed });
    if (first && state === 'active') send({ event: 'status', stage: 'generating', text: WEB_TEXT.generating });
    if (state === 'prioritized' || state === 'waiting') {
      const ahead = await jobsAhead(deps.redis, deps.queue, jobId).catch(() => undefined);
      // Only when it changed: the page already shows the position the submission answered with.
      if (ahead !== undefined && ahead !== lastAhead && !first) send({ event: 'status', stage: 'queued', text: WEB_TEXT.queued(ahead) });
      lastAhead = ahead;
    }
  };
  const onEvent = (event: ProgressEvent): void => {
    if (event.jobId !== jobId) return;
    if (event.type === 'delivered') return void finish(event.result.messageId, event.result.costMicros);
    const mapped = streamEventOf(event);
    if (mapped) send(mapped);
    else void check(false); // failed: the reason the person should read is the one the job records
  };
  const unsubscribe = deps.feed?.subscribe(onEvent);
  const poll = setInterval(() => void check(false), deps.pollMs ?? 2000);
  // A comment line now and then keeps proxies and the browser from dropping an idle stream.
  const heartbeat = setInterval(() => !ended && res.write(': ping\n\n'), 15_000);
  function end(): void {
    if (ended) return;
    ended = true;
    unsubscribe?.();
    clearInterval(poll);
    clearInterval(heartbeat);
    res.end();
  }
  req.on('close', end);
  void check(true);
}

function streamEventOf(event: ProgressEvent): StreamEvent | undefined {
  switch (event.type) {
    case 'started':
      return { event: 'status', stage: 'generating', text: WEB_TEXT.generating };
    case 'progress':
      return event.progress.stage === 'delivering'
        ? { event: 'status', stage: 'delivering', text: WEB_TEXT.delivering }
        : { event: 'status', stage: 'generating', text: WEB_TEXT.generating };
    case 'retrying':
      return { event: 'status', stage: 'retrying', text: WEB_TEXT.retrying(event.delayMs) };
    case 'delivered':
    case 'failed':
      return undefined;
  }
}

/**
 * Jobs that run before this one: BullMQ takes plain waiting jobs first, then prioritized ones by score (the
 * person's in-flight position, then arrival). Two reads, so a moment's snapshot, which is all a status line needs.
 */
async function jobsAhead(client: RedisClient, queue: GenerationQueue, jobId: string): Promise<number | undefined> {
  const [waiting, rank] = await Promise.all([client.llen(queue.toKey('wait')), client.zrank(queue.toKey('prioritized'), jobId)]);
  if (rank !== null) return waiting + rank;
  const index = await client.lpos(queue.toKey('wait'), jobId);
  // The wait list is pushed on the left and taken from the right: the jobs ahead are those after this one.
  return index === null ? undefined : waiting - index - 1;
}
