import { Command, InvalidArgumentError, Option } from 'commander';
import type { GenerationJobData } from '../core/queue/job-data.js';
import { CliExit, common, emit, settings, withCore, wholeNumber, type CliIo } from './common.js';

const STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed'] as const;
type State = (typeof STATES)[number];

/** A job id as BullMQ and the bot make them; anything else cannot name a job. */
function jobId(value: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(value)) throw new InvalidArgumentError('a job id is letters, digits, _ and - (as `fluxbot jobs list` shows)');
  return value;
}

/** `fluxbot jobs …`: look at and act on the queue, through the same services as the bot. */
export function jobsCommand(version: string, io: CliIo): Command {
  const jobs = common(new Command('jobs'), version, false).description('list, cancel and retry jobs');

  jobs.addCommand(
    common(new Command('list').description('jobs in the queue, newest first per state'), version)
      .addOption(new Option('--state <state>', 'only jobs in this state (default: all of them)').choices(STATES))
      .option('--limit <n>', 'at most this many per state (1 to 1000)', wholeNumber('--limit', 1, 1000), 20)
      .action(async (o: { state?: State; limit: number; json?: boolean }) => {
        await withCore(settings(), io, async (core) => {
          const found = await core.queue.getJobs(o.state ? [o.state] : [...STATES], 0, o.limit - 1);
          const rows = await Promise.all(
            found.map(async (job) => {
              const d = job.data as GenerationJobData;
              return {
                id: job.id,
                state: await job.getState(),
                kind: d.kind,
                user: `${d.requester.platform}:${d.requester.guildId}:${d.requester.userId}`,
                model: d.request.model,
                prompt: d.request.prompt.slice(0, 80),
                provider: d.stored?.provider ?? d.checkpoint?.provider,
                submittedAt: new Date(d.submittedAt).toISOString(),
                failure: d.failure?.message ?? (job.failedReason || undefined),
              };
            }),
          );
          if (o.json) for (const row of rows) io.out(JSON.stringify(row));
          else if (rows.length === 0) io.out(`no ${o.state ?? ''} jobs`.replace('  ', ' '));
          else
            for (const r of rows) {
              io.out(`${r.id}  ${r.state.padEnd(11)} ${r.submittedAt}  ${r.user}  ${r.model}  "${r.prompt}"${r.failure ? `  (${r.failure})` : ''}`);
            }
        });
      }),
  );
  jobs.addCommand(
    common(new Command('cancel').description('stop a queued or running job (its charge is refunded)'), version)
      .argument('<job-id>', 'the job (from `fluxbot jobs list`)', jobId)
      .action(async (id: string, o: { json?: boolean }) => {
        await withCore(settings(), io, async (core) => {
          const result = await core.service.cancel(id, { admin: true });
          if (result.status === 'not_found') throw new CliExit(`no job ${id}`);
          const human = {
            canceled: `canceled ${id} (refunded)`,
            canceling: `${id} is running: asked its worker to stop it (refunded when it does)`,
            finished: `${id} has already finished; nothing to cancel`,
            not_owner: `${id}: not canceled`,
          }[result.status];
          emit(io, o.json, { jobId: id, ...result }, () => human);
        });
      }),
  );
  jobs.addCommand(
    common(new Command('retry').description("submit a failed job's request again for the same person and thread (through their quota)"), version)
      .argument('<job-id>', 'the failed job', jobId)
      .action(async (id: string, o: { json?: boolean }) => {
        await withCore(settings(), io, async (core) => {
          const job = await core.queue.getJob(id);
          if (!job) throw new CliExit(`no job ${id}`);
          if ((await job.getState()) !== 'failed') throw new CliExit(`job ${id} has not failed; only failed jobs can be retried`);
          const d = job.data as GenerationJobData;
          const result = await core.service.submit(d.request, d.requester, d.target, { dedupeKey: `cli:retry:${id}` });
          emit(io, o.json, { retryOf: id, ...result }, () =>
            result.status === 'queued'
              ? `queued ${result.jobId} (retry of ${id}), ${result.position} ahead of it`
              : result.status === 'duplicate'
                ? `${id} was already retried as ${result.jobId}`
                : `refused: ${result.reason}${result.banReason ? ` (${result.banReason})` : ''}`,
          );
          if (result.status === 'refused') throw new CliExit('', 1);
        });
      }),
  );
  return jobs;
}
