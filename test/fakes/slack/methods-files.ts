import type { ServerResponse } from 'node:http';
import { sendJson, type RecordedCall } from '../fake-server.js';
import type { FakeSlackConfig } from './config.js';
import { fail, str, type ApiContext, type ApiResult, type MethodSpec } from './web-api.js';
import { randomId, type FakeFile, type FakeMessage, type ShareEntry, type Workspace } from './workspace.js';

/**
 * Real Slack shares an uploaded file asynchronously: files.completeUploadExternal often answers before the file has
 * `shares`, and files.info shows them a little later. When this switch is on, the completion answer carries
 * `shares: {}` and `channels: []` (as Slack's does), and files.info keeps answering that way for the first
 * `afterInfoCalls` calls for that file and/or until `afterMs` have passed since completion (whichever comes first).
 * `afterInfoCalls: Infinity` with no `afterMs` means the shares never show up.
 */
export interface MissingShares {
  afterInfoCalls?: number;
  afterMs?: number;
}

interface PendingUpload {
  fileId: string;
  filename: string;
  declaredLength: number;
  bytes?: Buffer;
}

interface PendingShare {
  kind: 'public' | 'private';
  channel: string;
  entry: ShareEntry;
  completedAt: number;
  infoCalls: number;
  policy: MissingShares;
}

const MIME_BY_EXTENSION: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  txt: 'text/plain',
};

/** files.* methods, the upload URL, private file hosting and the asynchronous-shares switch. */
export class FileStore {
  /** See {@link MissingShares}; `undefined` = shares are in the completion answer at once. */
  missingShares: MissingShares | undefined;
  /** Upload POSTs still to leave unanswered (see SlackFakeCore.hangNext with `'upload'`). */
  hangUploads = 0;
  /** The upload POSTs left unanswered so far. */
  readonly hungUploads = new Set<ServerResponse>();
  private readonly uploads = new Map<string, PendingUpload>();
  private readonly pendingShares = new Map<string, PendingShare>();

  constructor(
    private readonly ws: Workspace,
    private readonly config: FakeSlackConfig,
    private readonly baseUrl: () => string,
  ) {}

  methods(): Record<string, MethodSpec> {
    return {
      'files.getUploadURLExternal': { token: 'bot', handle: (ctx) => this.getUploadUrl(ctx) },
      'files.completeUploadExternal': { token: 'bot', handle: (ctx) => this.complete(ctx) },
      'files.info': { token: 'bot', handle: (ctx) => this.info(ctx) },
      'files.list': { token: 'bot', handle: (ctx) => this.list(ctx) },
      'files.delete': { token: 'bot', handle: (ctx) => this.remove(ctx) },
    };
  }

  /** Stores a file as if a user had uploaded it (e.g. an image prompt); its private URLs need the bot token. */
  addFile(bytes: Buffer, options: { name: string; mimetype?: string; title?: string; user?: string; channels?: string[] }): FakeFile {
    const file = this.createFile(randomId('F'), bytes, options.name, options.title ?? options.name, options.user ?? 'U0UPLOADER', options.mimetype);
    file.channels = [...(options.channels ?? [])];
    return file;
  }

  /** `POST /upload/v1/<id>`: multipart field `body` (what the WebClient sends) or raw bytes. */
  async handleUpload(call: RecordedCall, res: ServerResponse): Promise<void> {
    const upload = this.uploads.get(call.path.slice('/upload/v1/'.length));
    if (!upload) return void sendJson(res, 404, { error: 'fake: unknown upload url' });
    if (this.hangUploads > 0) {
      // Slack's file host never answers: the bytes are not taken, the socket is left open until the fake closes.
      this.hangUploads -= 1;
      this.hungUploads.add(res);
      res.on('close', () => this.hungUploads.delete(res));
      return;
    }
    const contentType = String(call.headers['content-type'] ?? '');
    if (contentType.startsWith('multipart/form-data')) {
      const form = await new Request('http://fake', { method: 'POST', headers: { 'content-type': contentType }, body: call.rawBody }).formData();
      const body = form.get('body') ?? form.get('file');
      if (body === null) return void sendJson(res, 400, { error: 'fake: multipart upload without a body field' });
      upload.bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.from(await body.arrayBuffer());
    } else {
      upload.bytes = call.rawBody;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`OK - ${upload.bytes.length}`);
  }

  /** `GET /files-pri/<team>-<file>/[download/]<name>`: the bytes with the bot token; a redirect to sign-in without. */
  serveFile(call: RecordedCall, res: ServerResponse): void {
    const match = /^\/files-pri\/[^/]+-(F[A-Z0-9]+)\//.exec(call.path);
    const file = match?.[1] ? this.ws.files.get(match[1]) : undefined;
    const bytes = file ? this.ws.bytes.get(file.id) : undefined;
    if (!file || !bytes) return void sendJson(res, 404, { error: 'fake: no such file' });
    if (call.headers.authorization !== `Bearer ${this.config.botToken}`) {
      // Slack does not answer 401 here: it redirects to the workspace sign-in page, which is HTML with status 200.
      res.writeHead(302, { location: `${this.baseUrl()}/signin?redir=${encodeURIComponent(call.path)}` });
      return void res.end();
    }
    res.writeHead(200, { 'content-type': file.mimetype, 'content-length': bytes.length });
    res.end(bytes);
  }

  private getUploadUrl(ctx: ApiContext): ApiResult {
    const filename = str(ctx.args, 'filename');
    const length = Number(str(ctx.args, 'length'));
    if (!filename || !Number.isInteger(length) || length <= 0) return fail('invalid_arguments');
    const fileId = randomId('F');
    const uploadId = randomId('u', 24).toLowerCase();
    this.uploads.set(uploadId, { fileId, filename, declaredLength: length });
    return { ok: true, upload_url: `${ctx.baseUrl}/upload/v1/${uploadId}`, file_id: fileId };
  }

  private complete(ctx: ApiContext): ApiResult {
    const { files } = ctx.args;
    if (!Array.isArray(files) || files.length === 0) return fail('invalid_arguments');
    const channel = str(ctx.args, 'channel_id') ?? str(ctx.args, 'channels')?.split(',')[0];
    // A conversation that refuses the bot refuses the share; the upload is left unfinished (no file is created).
    const refused = this.ws.refusal(channel);
    if (refused) return fail(refused);
    const uploads: Array<{ upload: PendingUpload; bytes: Buffer; title: string }> = [];
    for (const item of files as Array<{ id?: unknown; title?: unknown }>) {
      const upload = [...this.uploads.values()].find((u) => u.fileId === item.id);
      if (!upload?.bytes) return fail('file_not_found');
      uploads.push({ upload, bytes: upload.bytes, title: typeof item.title === 'string' ? item.title : upload.filename });
    }
    const created = uploads.map(({ upload, bytes, title }) => {
      for (const [key, value] of this.uploads) if (value === upload) this.uploads.delete(key);
      return this.createFile(upload.fileId, bytes, upload.filename, title, ctx.config.botUserId);
    });
    if (channel) this.share(ctx, created, channel, str(ctx.args, 'thread_ts'), str(ctx.args, 'initial_comment') ?? '');
    return { ok: true, files: created.map((f) => structuredClone(f)) };
  }

  /**
   * files.delete: a bot token deletes only the bot's own uploads (`cant_delete_file` otherwise). The file is gone from
   * files.info/list and its downloads; a message that carried only it goes too (Slack shows "This file was deleted").
   */
  private remove(ctx: ApiContext): ApiResult {
    const id = str(ctx.args, 'file');
    const file = id ? this.ws.files.get(id) : undefined;
    if (!file) return fail('file_not_found');
    if (file.user !== ctx.config.botUserId) return fail('cant_delete_file');
    this.ws.files.delete(file.id);
    this.ws.bytes.delete(file.id);
    this.pendingShares.delete(file.id);
    for (const message of [...this.ws.messages]) {
      if (!message.files?.some((f) => f.id === file.id)) continue;
      message.files = message.files.filter((f) => f.id !== file.id);
      if (message.files.length === 0) {
        this.ws.messages.splice(this.ws.messages.indexOf(message), 1);
        this.ws.deleted.push(message);
      }
    }
    return { ok: true };
  }

  private info(ctx: ApiContext): ApiResult {
    const id = str(ctx.args, 'file');
    const file = id ? this.ws.files.get(id) : undefined;
    if (!file) return fail('file_not_found');
    const pending = this.pendingShares.get(file.id);
    if (pending) {
      const { afterInfoCalls, afterMs } = pending.policy;
      const byCalls = afterInfoCalls !== undefined && pending.infoCalls >= afterInfoCalls;
      const byTime = afterMs !== undefined && Date.now() - pending.completedAt >= afterMs;
      pending.infoCalls += 1;
      if (byCalls || byTime) {
        this.applyShare(file, pending.kind, pending.channel, pending.entry);
        this.pendingShares.delete(file.id);
      }
    }
    return { ok: true, file: structuredClone(file), comments: [], response_metadata: { next_cursor: '' } };
  }

  /**
   * files.list: the workspace's files, newest first, filtered like Slack's by `user` (who uploaded), `channel` (shared
   * there: an upload whose share is still pending is in no channel yet), `ts_from`/`ts_to` (created, unix seconds) and
   * `types` (`images` or `all`); paged by `count` (default 100, at most 1000) and `page` (`paging` says how many pages).
   * Like Slack, it serves at most page 100: past it, page 1 with the warning `max_page_limit`.
   */
  private list(ctx: ApiContext): ApiResult {
    const user = str(ctx.args, 'user');
    const channel = str(ctx.args, 'channel');
    const from = Number(str(ctx.args, 'ts_from') ?? 0);
    const to = Number(str(ctx.args, 'ts_to') ?? Number.MAX_SAFE_INTEGER);
    const types = (str(ctx.args, 'types') ?? 'all').split(',');
    const count = Math.min(1000, Number(str(ctx.args, 'count') ?? 100));
    const asked = Number(str(ctx.args, 'page') ?? 1);
    const page = asked > 100 ? 1 : asked;
    if (![from, to, count, page].every(Number.isFinite) || count < 1 || page < 1) return fail('invalid_arguments');
    if (types.some((t) => t !== 'all' && t !== 'images')) return fail('invalid_types');
    // Newest first; files created in the same second keep Slack's order too (the later upload first).
    const matching = [...this.ws.files.values()]
      .reverse()
      .filter((f) => user === undefined || f.user === user)
      .filter((f) => channel === undefined || [...f.channels, ...f.groups, ...f.ims].includes(channel))
      .filter((f) => f.created >= from && f.created <= to)
      .filter((f) => types.includes('all') || f.mimetype.startsWith('image/'))
      .sort((a, b) => b.created - a.created);
    const files = matching.slice((page - 1) * count, page * count).map((f) => structuredClone(f));
    const paging = { count, total: matching.length, page, pages: Math.max(1, Math.ceil(matching.length / count)) };
    return { ok: true, files, paging, ...(asked > 100 ? { warning: 'max_page_limit' } : {}) };
  }

  /** Posts the message carrying the files and records where they were shared (now, or later if shares are "missing"). */
  private share(ctx: ApiContext, files: FakeFile[], channel: string, threadTs: string | undefined, comment: string): void {
    const message: FakeMessage = {
      channel,
      ts: this.ws.clock.next(),
      ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
      text: comment,
      user: ctx.config.botUserId,
      bot_id: ctx.config.botId,
      files,
      updates: 0,
    };
    this.ws.ensureChannel(channel);
    this.ws.messages.push(message);
    const entry: ShareEntry = {
      ts: message.ts,
      ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
      channel_name: this.ws.channels.get(channel)?.name ?? channel.toLowerCase(),
      team_id: this.ws.teamId,
      share_user_id: ctx.config.botUserId,
      reply_users: [],
      reply_users_count: 0,
      reply_count: 0,
    };
    const kind = this.ws.isPrivate(channel) ? 'private' : 'public';
    for (const file of files) {
      if (this.missingShares) {
        const policy = this.missingShares.afterInfoCalls === undefined && this.missingShares.afterMs === undefined ? { afterInfoCalls: 2 } : this.missingShares;
        this.pendingShares.set(file.id, { kind, channel, entry, completedAt: Date.now(), infoCalls: 0, policy });
      } else {
        this.applyShare(file, kind, channel, entry);
      }
    }
  }

  private applyShare(file: FakeFile, kind: 'public' | 'private', channel: string, entry: ShareEntry): void {
    const byChannel = (file.shares[kind] ??= {});
    (byChannel[channel] ??= []).push(entry);
    const list = channel.startsWith('D') ? file.ims : kind === 'private' ? file.groups : file.channels;
    if (!list.includes(channel)) list.push(channel);
  }

  private createFile(id: string, bytes: Buffer, name: string, title: string, user: string, mimetype?: string): FakeFile {
    const extension = name.split('.').pop()?.toLowerCase() ?? '';
    const base = `${this.baseUrl()}/files-pri/${this.ws.teamId}-${id}`;
    const file: FakeFile = {
      id,
      name,
      title,
      mimetype: mimetype ?? MIME_BY_EXTENSION[extension] ?? 'application/octet-stream',
      filetype: extension,
      size: bytes.length,
      user,
      created: Math.floor(Date.now() / 1000),
      url_private: `${base}/${encodeURIComponent(name)}`,
      url_private_download: `${base}/download/${encodeURIComponent(name)}`,
      permalink: `https://${this.ws.teamDomain}.slack.com/files/${user}/${id}/${encodeURIComponent(name)}`,
      shares: {},
      channels: [],
      groups: [],
      ims: [],
    };
    this.ws.files.set(id, file);
    this.ws.bytes.set(id, bytes);
    return file;
  }
}
