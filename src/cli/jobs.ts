import { parseArgs } from 'node:util';
import type { Config } from '../config.js';
import { InvalidInput } from '../core/errors.js';
import type { GenerationJobData } from '../core/queue/job-data.js';
import { openCore } from './open-core.js';

export const JOBS_USAGE = `Usage: fluxbot jobs <list|cancel|retry> [options]

  list [--state waiting|prioritized|active|delayed|failed|completed] [--limit N]
  cancel JOB_ID     stop a queued or running job (refunded)
  retry JOB_ID      submit a failed job's request again for the same person and thread (goes through their quota)`;

const STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed'] as const;

/** `fluxbot jobs …`: look at and act on the queue, through the same services as the bot. */
export async function jobsCommand(argv: string[], config: Config, out: (line: string) => void): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    options: { state: { type: 'string' }, limit: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const core = await openCore(config);
  try {
    switch (sub) {
      case 'list': {
        const states = values.state ? [values.state] : [...STATES];
        for (const s of states) if (!(STATES as readonly string[]).includes(s)) throw new InvalidInput(`--state must be one of ${STATES.join(', ')}`, 'state');
        const limit = Math.min(1000, Math.max(1, Number(values.limit ?? 20) || 20));
        const jobs = await core.queue.getJobs(states as Array<(typeof STATES)[number]>, 0, limit - 1);
        for (const job of jobs) {
          const d = job.data as GenerationJobData;
          out(
            JSON.stringify({
              id: job.id,
              state: await job.getState(),
              kind: d.kind,
              user: `${d.requester.platform}:${d.requester.guildId}:${d.requester.userId}`,
              model: d.request.model,
              prompt: d.request.prompt.slice(0, 80),
              provider: d.stored?.provider ?? d.checkpoint?.provider,
              submittedAt: new Date(d.submittedAt).toISOString(),
              failure: d.failure?.message ?? (job.failedReason || undefined),
            }),
          );
        }
        return 0;
      }
      case 'cancel': {
        const id = requireId(positionals[0]);
        out(JSON.stringify({ jobId: id, ...(await core.service.cancel(id, { admin: true })) }));
        return 0;
      }
      case 'retry': {
        const id = requireId(positionals[0]);
        const job = await core.queue.getJob(id);
        if (!job) throw new InvalidInput(`no job ${id}`, 'job');
        if ((await job.getState()) !== 'failed') throw new InvalidInput(`job ${id} has not failed; only failed jobs can be retried`, 'job');
        const d = job.data as GenerationJobData;
        const result = await core.service.submit(d.request, d.requester, d.target, { dedupeKey: `cli:retry:${id}` });
        out(JSON.stringify({ retryOf: id, ...result }));
        return result.status === 'refused' ? 1 : 0;
      }
      default:
        out(JOBS_USAGE);
        return 2;
    }
  } finally {
    await core.close(0);
  }
}

function requireId(id: string | undefined): string {
  if (!id || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new InvalidInput('give a job id', 'job');
  return id;
}
