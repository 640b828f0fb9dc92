import type { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import { refusing } from './slack-errors.js';

/** How long to wait for Slack to share an upload before giving up on the message ts (Slack shares asynchronously). */
export interface SharePolling {
  /** files.info calls at most. Default 6. */
  attempts: number;
  /** Wait before poll `n` (0-based). Default 500 ms doubling, about 30 s in all. */
  delayMs: (attempt: number) => number;
}

export const DEFAULT_SHARE_POLLING: SharePolling = { attempts: 6, delayMs: (n) => 500 * 2 ** n };

type ShareMap = Record<string, Record<string, Array<{ ts?: string; thread_ts?: string }>> | undefined>;

/** The part of Slack's file object delivery reads. */
export interface FileWithShares {
  id?: string;
  name?: string;
  shares?: ShareMap;
}

/** One image upload: where, under which name, with which texts. */
export interface ImageUpload {
  channelId: string;
  threadId?: string | undefined;
  filename: string;
  bytes: Buffer;
  title: string;
  altText: string;
  comment: string;
}

/**
 * Uploads with the files upload v2 flow and returns the completed file (its `shares` may still be empty: Slack shares
 * asynchronously). A refusal for good (the conversation, the token) comes out as DeliveryRefused.
 */
export async function uploadImage(client: webApi.WebClient, u: ImageUpload): Promise<FileWithShares | undefined> {
  const destination = u.threadId === undefined ? { channel_id: u.channelId } : { channel_id: u.channelId, thread_ts: u.threadId };
  const result = await refusing(
    client.filesUploadV2({
      ...destination,
      file: u.bytes,
      filename: u.filename,
      title: u.title,
      alt_text: u.altText,
      initial_comment: u.comment,
    }),
  );
  return (result.files as unknown as Array<{ files?: FileWithShares[] }>)[0]?.files?.[0];
}

/** One file of a gallery upload. */
export interface UploadFile {
  filename: string;
  bytes: Buffer;
  title: string;
  altText: string;
}

/**
 * Uploads several images as ONE message (files upload v2: one completeUploadExternal naming every file, shared with
 * one comment) and returns the completed files in order. A refusal for good comes out as DeliveryRefused.
 */
export async function uploadImages(
  client: webApi.WebClient,
  u: { channelId: string; threadId?: string | undefined; files: readonly UploadFile[]; comment: string },
): Promise<FileWithShares[]> {
  const destination = u.threadId === undefined ? { channel_id: u.channelId } : { channel_id: u.channelId, thread_ts: u.threadId };
  const result = await refusing(
    client.filesUploadV2({
      ...destination,
      initial_comment: u.comment,
      file_uploads: u.files.map((f) => ({ file: f.bytes, filename: f.filename, title: f.title, alt_text: f.altText })),
    }),
  );
  return (result.files as unknown as Array<{ files?: FileWithShares[] }>).flatMap((c) => c.files ?? []);
}

/** The person's direct message with the bot (conversations.open). A person who cannot be messaged: DeliveryRefused. */
export async function openDirectMessage(client: webApi.WebClient, userId: string): Promise<string> {
  const opened = await refusing(client.conversations.open({ users: userId }));
  const id = opened.channel?.id;
  if (!id) throw new Error('conversations.open returned no channel');
  return id;
}

/** files.list pages: 100 files each; Slack serves at most page 100 (`max_page_limit`). */
const PAGE_SIZE = 100;
const MAX_PAGES = 100;

/**
 * The first of `names` this bot uploaded since `since` (epoch ms), if any: files.list filtered to the bot's own uploads
 * (by user, not by channel: an upload Slack has not finished sharing is in no channel yet), read page by page to the
 * end. Only the first page was read before, so on a busy bot an upload with 100 newer ones behind it was not found
 * and the image was posted a second time.
 */
export async function findUpload(client: webApi.WebClient, user: string, names: readonly string[], since: number): Promise<FileWithShares | undefined> {
  const tsFrom = String(Math.floor(since / 1000) - 60);
  for (let page = 1; page <= MAX_PAGES; page++) {
    const list = await client.files.list({ user, ts_from: tsFrom, types: 'images', count: PAGE_SIZE, page });
    const files = (list.files ?? []) as Array<FileWithShares & { name?: string }>;
    for (const name of names) {
      const found = files.find((f) => f.name === name);
      if (found) return found;
    }
    const pages = list.paging?.pages ?? 1;
    if (page >= pages || files.length === 0) return undefined;
  }
  return undefined;
}

/** The ts of the message that carries the file in `channelId` (in the thread, when there is one). */
export function shareTs(file: FileWithShares | undefined, channelId: string, threadId: string | undefined): string | undefined {
  const entries = [...(file?.shares?.public?.[channelId] ?? []), ...(file?.shares?.private?.[channelId] ?? [])];
  const match = entries.find((e) => threadId === undefined || e.thread_ts === threadId) ?? entries[0];
  return match?.ts;
}

/**
 * Slack shares uploads asynchronously: polls files.info (bounded) until the share in `channelId` appears. The image is
 * posted by then, so a failed files.info (missing_scope, file_not_found, 5xx after the client's retries) ends the
 * polling with the ts unknown instead of failing anything.
 */
export async function pollShares(
  client: webApi.WebClient,
  polling: SharePolling,
  logger: Logger,
  file: { fileId: string; channelId: string; threadId: string | undefined; jobId: string },
): Promise<string | undefined> {
  for (let attempt = 0; attempt < polling.attempts; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, polling.delayMs(attempt)));
    const info = await client.files.info({ file: file.fileId }).catch((err: unknown) => {
      logger.warn({ err, jobId: file.jobId, fileId: file.fileId }, 'files.info failed while looking for where the upload was shared');
      return undefined;
    });
    if (!info) return undefined;
    const ts = shareTs(info.file as FileWithShares | undefined, file.channelId, file.threadId);
    if (ts !== undefined) return ts;
  }
  return undefined;
}
