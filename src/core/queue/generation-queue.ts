import { Queue, type ConnectionOptions } from 'bullmq';
import type { GenerationJobData, GenerationJobResult } from './job-data.js';

export const QUEUE_NAME = 'generate';
/** BullMQ key prefix; the braces are a Redis Cluster hash tag so every key of the queue shares one slot. */
export const DEFAULT_PREFIX = '{fluxbot}';

export type GenerationQueue = Queue<GenerationJobData, GenerationJobResult>;

export function createGenerationQueue(connection: ConnectionOptions, prefix = DEFAULT_PREFIX): GenerationQueue {
  return new Queue<GenerationJobData, GenerationJobResult>(QUEUE_NAME, {
    connection,
    prefix,
    defaultJobOptions: {
      // Unexpected errors (delivery faults, bugs) get a few tries; provider faults are retried by the worker's own
      // policy without spending these attempts.
      attempts: 4,
      backoff: { type: 'exponential', delay: 2000, jitter: 0.5 },
      // A completed job is ~2.8 KB of Redis, in the queue's one slot. Only status messages, the playground's job
      // stream and `fluxbot jobs list` read it, within minutes; rerolls and history read the record (30 days, a
      // third of the bytes, spread over the cluster). An hour keeps it to a few bytes per retained image.
      removeOnComplete: { age: 3600, count: 10_000 },
      removeOnFail: { age: 7 * 86_400, count: 10_000 },
    },
  });
}
