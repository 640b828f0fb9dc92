import type { HistoryEntry, ImageHistory } from '../core/jobs/image-history.js';
import type { JobRecord } from '../core/jobs/job-records.js';
import type { Requester } from '../core/ports.js';
import { truncate } from '../core/text.js';
import type { CommandDefinition } from './definition.js';
import { plainTime, type Reply, type TimeFormatter } from './replies.js';

export const fluxHistoryCommand: CommandDefinition = {
  name: 'flux-history',
  description: 'Your latest images, and any the bot kept for you',
  ephemeral: true,
};

/** A kept image handed out again by `/flux-history`: the adapter attaches it to its private answer. */
export interface KeptFile {
  jobId: string;
  filename: string;
  contentType: string;
  bytes: Buffer;
}

export interface HistoryReply extends Reply {
  /** Kept images to attach, newest first. */
  files: KeptFile[];
}

const CONTENT_TYPES = { png: 'image/png', jpg: 'image/jpeg', webp: 'image/webp' } as const;

/**
 * `/flux-history`: where each of the person's latest images went, and the kept ones (no channel could take them)
 * attached again. `where` renders a posted image's location in the platform's markup (a message link, a channel).
 */
export async function runHistoryCommand(
  history: Pick<ImageHistory, 'list'>,
  requester: Requester,
  where: (record: JobRecord) => string,
  time: TimeFormatter = plainTime,
  limit = 10,
): Promise<HistoryReply> {
  const entries = await history.list(requester, limit);
  if (entries.length === 0) return { text: 'You have no images yet. Try /flux.', ephemeral: true, files: [] };
  const files: KeptFile[] = [];
  const lines = entries.map((entry) => {
    const { record } = entry;
    const what = `“${truncate(record.request.prompt, 80)}” (${record.request.model}, seed ${record.seed}, ${time(record.createdAt)})`;
    return `• ${what}: ${location(entry, where, time, files)}`;
  });
  const head = files.length > 0 ? `Your latest images (${files.length} kept for you, attached):` : 'Your latest images:';
  return { text: [head, ...lines].join('\n'), ephemeral: true, files };
}

function location(entry: HistoryEntry, where: (record: JobRecord) => string, time: TimeFormatter, files: KeptFile[]): string {
  const { record } = entry;
  if (record.via === 'private') return 'sent to you privately';
  if (record.via !== 'kept') return where(record);
  if (!entry.kept) return 'kept for you for 7 days after the channel refused it; that time has passed';
  const format = record.format ?? 'png';
  files.push({ jobId: record.jobId, filename: `flux-${record.seed}.${format}`, contentType: CONTENT_TYPES[format], bytes: entry.kept.bytes });
  return `the channel refused it, so it is kept for you until ${time(entry.kept.keptUntil)} — attached here`;
}
