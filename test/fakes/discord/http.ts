import sharp from 'sharp';
import type { RecordedCall } from '../fake-server.js';
import type { UploadedFile } from './types.js';

/** Names of the REST routes the fake serves; `calls[].route` holds one of them (null for an unknown route). */
export type DiscordRoute =
  | 'getGatewayBot'
  | 'interactionCallback'
  | 'getOriginal'
  | 'editOriginal'
  | 'deleteOriginal'
  | 'createFollowup'
  | 'getFollowup'
  | 'editFollowup'
  | 'deleteFollowup'
  | 'getGlobalCommands'
  | 'putGlobalCommands'
  | 'createGlobalCommand'
  | 'getGuildCommands'
  | 'putGuildCommands'
  | 'createGuildCommand'
  | 'createMessage'
  | 'getMessage'
  | 'editMessage'
  | 'deleteMessage'
  | 'startThreadFromMessage'
  | 'startThread'
  | 'addOwnReaction'
  | 'removeOwnReaction'
  | 'getChannel'
  | 'getGuild'
  | 'getMember'
  | 'getCurrentUser'
  | 'getUser'
  | 'createDm'
  | 'cdn';

/** One REST (or CDN) request as the fake Discord saw and answered it. */
export interface DiscordCall {
  method: string;
  /** Decoded path without the `/api/v10` prefix, e.g. `/webhooks/APP/TOKEN/messages/@original`. */
  path: string;
  /** The raw request target, with the query string. */
  url: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  route: DiscordRoute | null;
  /** Decoded path parameters of the matched route (`channelId`, `emoji`, `token`, ...). */
  params: Record<string, string>;
  /** The JSON body, or the parsed `payload_json` of a multipart body; undefined when there was none. */
  body: unknown;
  /** Uploaded files of a multipart body, in form order. */
  files: UploadedFile[];
  /** Status the fake answered with (0: the connection was cut, see `dropNext`). */
  status: number;
  /** JSON the fake answered with (undefined for 204 and bytes). */
  response: unknown;
  at: number;
}

export const API_PREFIX = '/api/v10';

/**
 * Decodes a request's body the way Discord does: JSON, or multipart with `payload_json` and `files[n]` parts.
 * Image uploads are measured so stored attachments carry width and height like Discord's.
 */
export async function parseBody(call: RecordedCall): Promise<{ body: unknown; files: UploadedFile[]; error?: string }> {
  const contentType = String(call.headers['content-type'] ?? '');
  if (call.rawBody.length === 0) return { body: undefined, files: [] };
  if (contentType.startsWith('application/json')) {
    try {
      return { body: JSON.parse(call.rawBody.toString('utf8')), files: [] };
    } catch {
      return { body: undefined, files: [], error: 'body is not valid JSON' };
    }
  }
  if (!contentType.startsWith('multipart/form-data')) return { body: undefined, files: [], error: `unsupported content type ${contentType}` };
  const form = await new Request('http://fake.invalid', {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: new Uint8Array(call.rawBody),
  }).formData();
  let body: unknown;
  const files: UploadedFile[] = [];
  for (const [field, value] of form.entries()) {
    if (typeof value === 'string') {
      if (field === 'payload_json') body = JSON.parse(value);
      continue;
    }
    const bytes = Buffer.from(await value.arrayBuffer());
    const file: UploadedFile = { field, filename: value.name, contentType: value.type || 'application/octet-stream', bytes };
    if (file.contentType.startsWith('image/')) {
      const meta = await sharp(bytes).metadata().catch(() => null);
      if (meta?.width !== undefined && meta.height !== undefined) Object.assign(file, { width: meta.width, height: meta.height });
    }
    files.push(file);
  }
  return { body, files };
}

/** A route pattern such as `/channels/:channelId/messages/:messageId`, matched segment by segment. */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (w.startsWith(':')) params[w.slice(1)] = g;
    else if (w !== g) return null;
  }
  return params;
}

/** Decodes each path segment (`%40original` → `@original`, `%F0%9F%94%84` → 🔄) without merging segments. */
export function decodePath(rawPath: string): string {
  return rawPath
    .split('/')
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        return segment;
      }
    })
    .join('/');
}
