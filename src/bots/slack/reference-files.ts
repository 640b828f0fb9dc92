import { formatBytes } from '../../core/images/download.js';
import { REFERENCE_LIMITS, REFERENCE_TYPES } from '../../core/images/image.js';
import { refusal, replaceImage, type ReferenceImages } from '../../core/images/reference-images.js';
import { ImageInvalid } from '../../core/errors.js';
import type { FluxRequest } from '../../core/request.js';
import type { ImageEntry } from './flux-text.js';
import { downloadSlackFile, findSlackFile, NOT_FOUND, type FileViewer, type ImagePromptDeps } from './image-prompt.js';

const REFERENCE_MIMETYPES: readonly string[] = Object.values(REFERENCE_TYPES);

/**
 * What is wrong with a Slack file as a reference image, judged from its metadata (before anyone downloads it);
 * undefined when it looks fine. The bytes are checked again once downloaded.
 */
export function checkReferenceFileMeta(file: { mimetype?: string | undefined; size?: number | undefined }): string | undefined {
  if (!file.mimetype || !REFERENCE_MIMETYPES.includes(file.mimetype)) return 'it is not a PNG, JPEG, WebP or GIF image';
  if (file.size !== undefined && file.size > REFERENCE_LIMITS.maxBytes) return `it is larger than ${formatBytes(REFERENCE_LIMITS.maxBytes)}`;
  return undefined;
}

/**
 * A Slack file stands in the request parser's list as this link until the bot has stored it: the parser takes links
 * and `data:` URIs only, and checks the model's rules (how many images, whether it takes any) on the list as given.
 * The link is never fetched: {@link storeSlackFiles} replaces it, after the ack.
 */
export function fileStandIn(fileId: string): string {
  return `https://files.slack.com/fluxbot-file/${fileId}`;
}

/** The `images` list for the request parser: links as given, Slack files as their stand-ins. */
export function imagesInput(entries: readonly ImageEntry[]): string[] {
  return entries.map((entry) => ('link' in entry ? entry.link : fileStandIn(entry.fileId)));
}

/**
 * Downloads the Slack files among the reference images (with the bot token: providers cannot fetch them), checks and
 * stores each, and puts its reference where its stand-in was. Only the person's own files and files shared in the
 * conversation they ask in may be used. Throws InvalidInput naming the image (its position and file name).
 */
export async function storeSlackFiles(
  deps: ImagePromptDeps,
  references: Pick<ReferenceImages, 'store'>,
  request: FluxRequest,
  entries: readonly ImageEntry[],
  viewer: FileViewer,
): Promise<FluxRequest> {
  let stored = request;
  for (const [i, entry] of entries.entries()) {
    if ('link' in entry) continue;
    const index = i + 1;
    const file = await findSlackFile(deps, entry.fileId, viewer).catch((err: unknown) => {
      throw err instanceof ImageInvalid ? refusal({ index }, NOT_FOUND, err) : err;
    });
    const label = { index, name: file.name };
    const problem = checkReferenceFileMeta(file);
    if (problem) throw refusal(label, problem);
    const { reference } = await references.store(() => downloadSlackFile(deps, file, REFERENCE_LIMITS.maxBytes, 'Slack file'), label);
    stored = replaceImage(stored, fileStandIn(entry.fileId), reference);
  }
  return stored;
}
