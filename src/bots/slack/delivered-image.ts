import type { webApi } from '@slack/bolt';
import { REFERENCE_LIMITS } from '../../core/images/image.js';
import type { JobRecord } from '../../core/jobs/job-records.js';
import { downloadSlackFile, type ImagePromptDeps, type SlackFileMeta } from './image-prompt.js';
import { findUpload } from './slack-uploads.js';

const FORMATS = ['png', 'jpg', 'webp'] as const;

/**
 * The name of image `index` (0-based) of a gallery upload: the job id and the image's place in the message, so each
 * file of the one upload is found again by the job and its number (`-dm`: the private copy).
 */
export function galleryFileName(jobId: string, index: number, format: string, privately: boolean): string {
  return `flux-${jobId}-${index + 1}${privately ? '-dm' : ''}.${format}`;
}

/** How many images the record's message carries (a gallery: 2 or more). */
export function recordImages(record: Pick<JobRecord, 'images'>): number {
  return record.images ?? 1;
}

/**
 * The names image `index` of a job was uploaded under (see SlackDelivery's file names): in the channel, or
 * privately. Which format it had is in the record when known.
 */
function uploadNames(record: Pick<JobRecord, 'jobId' | 'seed' | 'format' | 'images'>, index: number): string[] {
  const formats = record.format ? [record.format] : FORMATS;
  if (recordImages(record) >= 2) return formats.flatMap((f) => [galleryFileName(record.jobId, index, f, false), galleryFileName(record.jobId, index, f, true)]);
  return formats.flatMap((f) => [`flux-${record.seed}-${record.jobId}.${f}`, `flux-${record.seed}-${record.jobId}-dm.${f}`]);
}

/**
 * The file the bot uploaded for image `index` (0-based) of a recorded message: the message's files[index], found
 * among the bot's own uploads by the name that carries the job id and the image's number (files.list, as delivery
 * finds an earlier upload): the record stays small, no file id travels in a button, and no history scope is needed.
 */
export async function findDeliveredFile(client: webApi.WebClient, botUserId: string, record: JobRecord, index = 0): Promise<SlackFileMeta | undefined> {
  if (!Number.isInteger(index) || index < 0 || index >= recordImages(record)) return undefined;
  const file = await findUpload(client, botUserId, uploadNames(record, index), record.createdAt);
  return file as SlackFileMeta | undefined;
}

/**
 * Reads a delivered image back from Slack (Vary and Edit work on the image as the channel shows it): the bot's own
 * upload, image `index` of a gallery, downloaded with the bot token from Slack's hosts. Undefined when the file is gone.
 */
export async function readDeliveredImage(deps: ImagePromptDeps, botUserId: string, record: JobRecord, index = 0): Promise<Buffer | undefined> {
  const file = await findDeliveredFile(deps.client, botUserId, record, index);
  if (!file) return undefined;
  return downloadSlackFile(deps, file, REFERENCE_LIMITS.maxBytes, 'the image');
}
