import type { webApi } from '@slack/bolt';
import { REFERENCE_LIMITS } from '../../core/images/image.js';
import type { JobRecord } from '../../core/jobs/job-records.js';
import { downloadSlackFile, type ImagePromptDeps, type SlackFileMeta } from './image-prompt.js';
import { findUpload } from './slack-uploads.js';

/**
 * The names a job's image was uploaded under (see SlackDelivery's file names): in the channel, or privately. Which
 * format it had is in the record when known.
 */
function uploadNames(record: Pick<JobRecord, 'jobId' | 'seed' | 'format'>): string[] {
  const formats = record.format ? [record.format] : ['png', 'jpg', 'webp'];
  return formats.flatMap((f) => [`flux-${record.seed}-${record.jobId}.${f}`, `flux-${record.seed}-${record.jobId}-dm.${f}`]);
}

/**
 * The file the bot uploaded for a recorded image, found among the bot's own uploads by the name that carries the job
 * id (files.list, as delivery finds an earlier upload): the record stays small and no file id travels in a button.
 */
export async function findDeliveredFile(client: webApi.WebClient, botUserId: string, record: JobRecord): Promise<SlackFileMeta | undefined> {
  const file = await findUpload(client, botUserId, uploadNames(record), record.createdAt);
  return file as SlackFileMeta | undefined;
}

/**
 * Reads a delivered image back from Slack (Vary and Edit work on the image as the channel shows it): the bot's own
 * upload, downloaded with the bot token from Slack's hosts. Undefined when the file is gone.
 */
export async function readDeliveredImage(deps: ImagePromptDeps, botUserId: string, record: JobRecord): Promise<Buffer | undefined> {
  const file = await findDeliveredFile(deps.client, botUserId, record);
  if (!file) return undefined;
  return downloadSlackFile(deps, file, REFERENCE_LIMITS.maxBytes, 'the image');
}
