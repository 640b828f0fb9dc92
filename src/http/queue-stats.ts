import type { GenerationQueue } from '../core/queue/generation-queue.js';

/** The queue-wide numbers one scrape shows. */
export interface QueueStats {
  counts: Record<string, number>;
  depth: number;
  workers: number;
}

/**
 * Reads the queue-wide numbers for a scrape, giving up after `timeoutMs`. While Redis is away a read never ends by
 * itself (BullMQ's connection queues commands until Redis is back), so a read still pending is shared by later
 * scrapes instead of piling up one more per scrape.
 */
export class QueueStatsReader {
  private pending: Promise<QueueStats | undefined> | undefined;

  constructor(
    private readonly queue: GenerationQueue,
    private readonly timeoutMs: number,
    private readonly apply: (stats: QueueStats | undefined) => void,
  ) {}

  /** Reads (or joins the read still pending) and applies what came within the timeout; undefined when nothing did. */
  async refresh(): Promise<void> {
    this.pending ??= this.read().finally(() => {
      this.pending = undefined;
    });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(resolve, this.timeoutMs, undefined);
    });
    try {
      this.apply(await Promise.race([this.pending, late]));
    } finally {
      clearTimeout(timer);
    }
  }

  private async read(): Promise<QueueStats | undefined> {
    try {
      const [counts, depth, workers] = await Promise.all([
        this.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'),
        this.queue.getJobCountByTypes('waiting', 'prioritized', 'delayed'),
        this.queue.getWorkersCount(),
      ]);
      return { counts, depth, workers };
    } catch {
      return undefined; // a refused or failed command: shown as fluxbot_queue_stats_up 0, like a late answer
    }
  }
}
