import { setMaxListeners } from 'node:events';
import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { RedisClient } from '../redis-connection.js';
import { errorLog } from '../error-log.js';
import { toFluxError } from '../errors.js';
import type { CancelBus } from './cancel-bus.js';
import { DEFAULT_PREFIX, QUEUE_NAME } from './generation-queue.js';
import { storedParts } from './gallery-steps.js';
import { finalizeFailure, keepUndelivered, runGenerationJob, type JobProgress, type StepDeps } from './generation-steps.js';
import type { GenerationJobData, GenerationJobResult } from './job-data.js';
import { StepWrites } from './step-writes.js';
import { WorkerReclaim, type ReclaimResult } from './worker-reclaim.js';

export interface GenerationWorkerOptions extends Omit<StepDeps, 'onStage' | 'claimStage' | 'writes'> {
  /** A connection for the worker (ioredis with `maxRetriesPerRequest: null`). */
  connection: ConnectionOptions;
  /** A dedicated connection for cancel pub/sub. */
  subscriber: RedisClient;
  cancels: CancelBus;
  prefix?: string;
  /** Jobs this process runs at once. Generations mostly wait on HTTP, so this can be high. */
  concurrency?: number;
  /** Stalled-job detection (a crashed worker's job is taken over after about this long). */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Minimum time between two progress updates of one job (status messages are edited at most this often). */
  progressIntervalMs?: number;
  /**
   * This worker's identity, which its replacement after a crash has too (WORKER_ID): a worker starting under it takes
   * back at once the jobs of its dead predecessors (worker-reclaim.ts). Without one, they wait for their locks.
   */
  workerId?: string;
}

/**
 * Runs generation jobs: BullMQ worker lifecycle, cancel broadcast, progress throttling and graceful shutdown.
 * The work of one job is in generation-steps.ts.
 */
export class GenerationWorker {
  readonly worker: Worker<GenerationJobData, GenerationJobResult>;
  private stopListening: (() => Promise<void>) | undefined;
  /** Aborted when the shutdown deadline passes: running jobs are handed back to the queue. */
  private readonly handBack = new AbortController();
  private readonly lastProgress = new Map<string, number>();
  private readonly deps: StepDeps;
  private readonly reclaim: WorkerReclaim | undefined;
  /** What this worker took back from dead predecessors when it started (see worker-reclaim.ts). */
  reclaimed: ReclaimResult = { reclaimed: [], dead: [], alive: [], unchecked: [] };

  constructor(private readonly options: GenerationWorkerOptions) {
    // Every running job listens on this one signal while it waits on its provider (unlessHandedBack removes the
    // listener when the wait ends), so up to `concurrency` listeners are normal, past Node's default warning at 10.
    // The bound keeps the leak warning for listeners that are not removed.
    setMaxListeners(2 * (options.concurrency ?? 50) + 10, this.handBack.signal);
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    this.reclaim = options.workerId ? new WorkerReclaim(options.stash.redis, `${prefix}:workers`, options.workerId) : undefined;
    this.worker = new Worker<GenerationJobData, GenerationJobResult>(
      QUEUE_NAME,
      (job, token, signal) => runGenerationJob(this.deps, job, token, signal, this.handBack.signal),
      {
        connection: options.connection,
        prefix,
        // Names its blocking connection and the jobs it takes: how a restarted worker tells its dead predecessor.
        ...(this.reclaim ? { name: this.reclaim.name } : {}),
        concurrency: options.concurrency ?? 50,
        autorun: false,
        lockDuration: options.lockDurationMs ?? 30_000,
        stalledInterval: options.stalledIntervalMs ?? 30_000,
        // A job stalls whenever its worker dies or loses Redis for longer than the lock (an outage stalls every
        // running job at once). Failing it then would refund a prediction that may already be paid for, so the
        // bound is only a guard against a job that kills every worker that takes it.
        maxStalledCount: 10,
      },
    );
    this.deps = {
      ...options,
      writes: new StepWrites(this.worker, options.stash, options.records, prefix),
      onStage: (job, p) => this.reportProgress(job, p),
      claimStage: (job, p) => this.claimStage(job, p),
    };
    this.worker.on('completed', (job) => this.lastProgress.delete(job.id ?? ''));
    this.worker.on('failed', (job, err) => void this.onFailed(job, err));
    this.worker.on('error', errorLog(options.logger, 'worker error'));
  }

  async start(): Promise<void> {
    this.stopListening = await this.options.cancels.listen(this.options.subscriber, (jobId) => {
      if (this.worker.cancelJob(jobId, 'canceled by user')) this.options.logger.info({ jobId }, 'cancel delivered to running job');
    });
    await this.worker.waitUntilReady();
    if (this.reclaim) {
      // Before the first job: a dead predecessor's jobs are marked stalled here, and the stalled check that run()
      // starts with moves them to the wait list at once.
      // Only a shortcut: when it fails, the jobs come back by lock expiry as without it.
      this.reclaimed = await this.reclaim.start(this.worker).catch((err: unknown) => {
        this.options.logger.warn({ err }, 'could not look for jobs of dead workers of this WORKER_ID; they run again when their locks expire');
        return this.reclaimed;
      });
      const { reclaimed, dead, alive, unchecked } = this.reclaimed;
      const log = { workerName: this.reclaim.name, reclaimed, dead, alive, unchecked };
      if (unchecked.length) this.options.logger.warn(log, 'Redis refused CLIENT LIST: jobs of earlier workers of this WORKER_ID run again when their locks expire');
      else if (reclaimed.length || dead.length || alive.length) this.options.logger.info(log, 'took back the jobs of dead workers of this WORKER_ID');
    }
    void this.worker.run().catch((err: unknown) => this.options.logger.error({ err }, 'worker stopped'));
  }

  /**
   * Stops taking jobs and lets active ones finish until `deadlineMs`; then hands the rest back to the queue (their
   * checkpoints let another worker resume the same predictions) and closes.
   */
  async close(deadlineMs = 30_000): Promise<void> {
    const closing = this.worker.close();
    const timer = setTimeout(() => this.handBack.abort(), deadlineMs);
    try {
      await closing;
      // It holds no job now (finished or handed back): nothing for a successor to take back.
      await this.reclaim?.stop().catch((err: unknown) => this.options.logger.warn({ err }, 'could not unregister the worker'));
    } finally {
      clearTimeout(timer);
      await this.stopListening?.();
    }
  }

  /** Throttles progress so a status message is edited at most once per interval; stage changes always pass. */
  private reportProgress(job: Job<GenerationJobData>, progress: JobProgress): void {
    if (this.claimStage(job, progress)) job.updateProgress(progress as unknown as object).catch(() => undefined);
  }

  /** The throttle: returns the progress when it may be sent now (and counts it as sent), else undefined. */
  private claimStage(job: Job<GenerationJobData>, progress: JobProgress): JobProgress | undefined {
    const id = job.id ?? '';
    const now = Date.now();
    const last = this.lastProgress.get(id) ?? 0;
    const stageChange = typeof job.progress !== 'object' || (job.progress as Partial<JobProgress>).stage !== progress.stage;
    if (!stageChange && now - last < (this.options.progressIntervalMs ?? 1000)) return undefined;
    this.lastProgress.set(id, now);
    return progress;
  }

  /** Failures that did not pass through the worker's own policy (exhausted attempts on unexpected errors). */
  private async onFailed(job: Job<GenerationJobData, GenerationJobResult> | undefined, err: Error): Promise<void> {
    if (!job) return;
    this.lastProgress.delete(job.id ?? '');
    const final = job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === 'UnrecoverableError';
    if (!final || job.data.failure) return;
    if ((job.data.stored || storedParts(job.data) > 0) && !job.data.delivered) {
      await keepUndelivered(this.deps, job).catch((e: unknown) => this.options.logger.error({ err: e, jobId: job.id }, 'could not keep the image of a failed job'));
      return;
    }
    await finalizeFailure(this.options, job.data, toFluxError(err), this.options.logger.child({ jobId: job.id })).catch((e: unknown) =>
      this.options.logger.error({ err: e, jobId: job.id }, 'could not finalize failed job'),
    );
  }
}
