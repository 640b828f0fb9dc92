import type { webApi } from '@slack/bolt';
import { ImageInvalid } from '../../core/errors.js';
import { downloadBytes, formatBytes } from '../../core/images/download.js';
import { inspectImage, type DecodedImage } from '../../core/images/image.js';

/** The part of Slack's file object an image prompt needs. */
export interface SlackFileMeta {
  id: string;
  name?: string;
  mimetype?: string;
  size?: number;
  url_private_download?: string;
  url_private?: string;
  /** Who uploaded it. */
  user?: string;
  /** Where it is shared: public channels, private channels, DMs; `shares` by visibility, then channel. */
  channels?: string[];
  groups?: string[];
  ims?: string[];
  shares?: Record<string, Record<string, unknown>>;
}

/** Who asks to use a file as an image prompt, and in which conversation. */
export interface FileViewer {
  userId: string;
  channelId: string;
}

/** Largest image prompt accepted (the data: URI of 10 MB, which the provider gets, fits the request schema's limit). */
export const MAX_IMAGE_PROMPT_BYTES = 10 * 1024 * 1024;
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp'];

/** What is wrong with a file as an image prompt, judged from its metadata; undefined when it looks fine. */
export function checkFileMeta(file: { mimetype?: string | undefined; size?: number | undefined; name?: string | undefined }): string | undefined {
  if (!file.mimetype || !IMAGE_TYPES.includes(file.mimetype)) return `${file.name ?? 'The file'} is not a PNG, JPEG or WebP image`;
  if (file.size !== undefined && file.size > MAX_IMAGE_PROMPT_BYTES) return `${file.name ?? 'The file'} is larger than ${formatBytes(MAX_IMAGE_PROMPT_BYTES)}`;
  return undefined;
}

export interface ImagePromptDeps {
  client: webApi.WebClient;
  botToken: string;
  /** Hosts that may receive the bot token besides `*.slack.com` (the configured Web API host, e.g. a local fake). */
  trustedHosts: readonly string[];
  fetch?: typeof fetch;
}

export const NOT_FOUND = 'the Slack file could not be found, or it is neither yours nor shared in this conversation';

/**
 * Downloads a private Slack file to use as an image prompt. Slack files need the bot token, which providers do not
 * have, so the bot downloads the file itself: its URL comes from files.info (never from the person), the token goes
 * only to Slack's own hosts, and the bytes must decode as a PNG, JPEG or WebP image of at most 10 MB. The caller stores
 * it once (InputImageStore) and puts only the reference in the request.
 *
 * The bot sees files the person may not (a private channel or a DM the bot is in), so a person may use only their own
 * files and files shared in the conversation they ask in; any other file reads as not found, so a file id reveals
 * nothing about a file.
 */
export async function slackFileImage(deps: ImagePromptDeps, fileId: string, viewer: FileViewer): Promise<DecodedImage> {
  const file = await findSlackFile(deps, fileId, viewer);
  const problem = checkFileMeta(file);
  if (problem) throw new ImageInvalid(problem.replace(/^\S+ is/, 'the file is'));
  return inspectImage(await downloadSlackFile(deps, file, MAX_IMAGE_PROMPT_BYTES, 'image prompt'));
}

/**
 * A file the person may use (their own, or shared in the conversation they ask in), from files.info. Any other file,
 * or one Slack does not know, is ImageInvalid(NOT_FOUND): a file id reveals nothing about a file.
 */
export async function findSlackFile(deps: ImagePromptDeps, fileId: string, viewer: FileViewer): Promise<SlackFileMeta> {
  let file: SlackFileMeta | undefined;
  try {
    file = (await deps.client.files.info({ file: fileId })).file as SlackFileMeta | undefined;
  } catch (err) {
    throw new ImageInvalid(NOT_FOUND, { cause: err });
  }
  if (!file || !mayUse(file, viewer)) throw new ImageInvalid(NOT_FOUND);
  return file;
}

/** A file's bytes, downloaded with the bot token from Slack's own hosts (the link comes from files.info, never a person). */
export function downloadSlackFile(deps: ImagePromptDeps, file: SlackFileMeta, maxBytes: number, source: string): Promise<Buffer> {
  const url = file.url_private_download ?? file.url_private;
  if (!url || !isTrustedHost(url, deps.trustedHosts)) return Promise.reject(new ImageInvalid('the Slack file has no downloadable link'));
  return downloadBytes(url, {
    headers: { authorization: `Bearer ${deps.botToken}` },
    maxBytes,
    timeoutMs: 30_000,
    source,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
}

function mayUse(file: SlackFileMeta, viewer: FileViewer): boolean {
  if (file.user === viewer.userId) return true;
  const sharedIn = [...(file.channels ?? []), ...(file.groups ?? []), ...(file.ims ?? []), ...Object.values(file.shares ?? {}).flatMap((byChannel) => Object.keys(byChannel))];
  return sharedIn.includes(viewer.channelId);
}

function isTrustedHost(raw: string, trusted: readonly string[]): boolean {
  try {
    const url = new URL(raw);
    if (url.protocol === 'https:' && (url.hostname === 'slack.com' || url.hostname.endsWith('.slack.com'))) return true;
    return trusted.includes(url.host);
  } catch {
    return false;
  }
}
