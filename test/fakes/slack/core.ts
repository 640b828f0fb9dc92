import type { ServerResponse } from 'node:http';
import { FakeServer, notFound, sendJson, type RecordedCall } from '../fake-server.js';
import { resolveConfig, type FakeSlackConfig, type FakeSlackOptions } from './config.js';
import { chatMethods } from './methods-chat.js';
import { FileStore, type MissingShares } from './methods-files.js';
import { viewMethods } from './methods-views.js';
import { SocketHub, type SocketAck } from './socket.js';
import { Waiter } from './waiter.js';
import { WebApi, type WebApiCall } from './web-api.js';
import { Workspace, type FakeChannelInit, type FakeFile, type FakeMessage, type FakeUserInit } from './workspace.js';

/** A POST the app made to a `response_url` the fake handed out (Bolt's `respond()`). */
export interface ResponseUrlPost {
  url: string;
  body: unknown;
  at: number;
}

/**
 * The server half of {@link FakeSlack}: Web API, uploads, private files, response URLs, the Socket Mode endpoint,
 * the stored workspace, fault switches and waits. {@link FakeSlack} adds the helpers that deliver requests to the app.
 */
export class SlackFakeCore {
  readonly config: FakeSlackConfig;
  /** Everything stored: users, channels, messages, reactions, files, views, triggers. */
  readonly workspace: Workspace;
  /** Raw HTTP record of every request the fake received (Web API, uploads, downloads, response URLs). */
  readonly http: FakeServer;
  /** Every `response_url` POST, in order. */
  readonly responses: ResponseUrlPost[] = [];
  protected readonly waiter = new Waiter();
  protected readonly api: WebApi;
  protected readonly fileStore: FileStore;
  protected readonly socketHub: SocketHub;
  protected readonly responseUrls = new Set<string>();

  protected constructor(options: FakeSlackOptions) {
    this.config = resolveConfig(options);
    this.workspace = new Workspace(this.config.teamId, this.config.teamDomain);
    this.addUser({ id: this.config.botUserId, name: 'fluxbot', isBot: true });
    for (const user of options.users ?? []) this.addUser(user);
    for (const channel of options.channels ?? []) this.addChannel(channel);
    this.http = new FakeServer((call, res) => this.route(call, res));
    this.socketHub = new SocketHub(this.config.appId, () => this.waiter.notify());
    this.fileStore = new FileStore(this.workspace, this.config, () => this.url);
    const methods = { ...chatMethods(() => this.socketHub.issueUrl(this.http.port)), ...this.fileStore.methods(), ...viewMethods() };
    this.api = new WebApi(methods, () => ({ ws: this.workspace, config: this.config, baseUrl: this.url }), () => this.waiter.notify());
    this.http.server.on('upgrade', (req, socket, head) => this.socketHub.handleUpgrade(req, socket, head));
  }

  protected async listen(): Promise<void> {
    await this.http.listen();
  }

  /** `http://127.0.0.1:PORT`. */
  get url(): string {
    return this.http.url;
  }

  /** `http://127.0.0.1:PORT/api/`: give it to the App as `clientOptions.slackApiUrl`. */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  /** Every Web API call with its decoded arguments, in order. */
  get calls(): WebApiCall[] {
    return this.api.calls;
  }

  /** Every HTTP request the fake received (Web API, file downloads and uploads), in order. */
  get requests(): RecordedCall[] {
    return this.http.calls;
  }

  /** Methods the app called that the fake does not implement (also printed when they happen). */
  get unknownMethods(): string[] {
    return this.api.unknownMethods;
  }

  /** Every ack the app sent over Socket Mode. */
  get acks(): SocketAck[] {
    return this.socketHub.acks;
  }

  /** Socket Mode connections accepted so far. */
  get socketConnections(): number {
    return this.socketHub.connections;
  }

  callsTo(method: string): WebApiCall[] {
    return this.api.calls.filter((c) => c.method === method);
  }

  /** Resolves with the first Web API call (past or future) matching `predicate`. */
  waitFor(predicate: (call: WebApiCall) => boolean, timeoutMs = 10_000): Promise<WebApiCall> {
    return this.waiter.until(() => this.api.calls.find(predicate), timeoutMs, () => `a matching Web API call; calls so far: ${this.describeCalls()}`);
  }

  /** Resolves with the first call of `method` (optionally also matching `predicate`). */
  waitForCall(method: string, predicate: (call: WebApiCall) => boolean = () => true, timeoutMs = 10_000): Promise<WebApiCall> {
    return this.waiter.until(
      () => this.api.calls.find((c) => c.method === method && predicate(c)),
      timeoutMs,
      () => `a ${method} call; calls so far: ${this.describeCalls()}`,
    );
  }

  /** Resolves with the first truthy value of `probe`, re-checked whenever the fake sees something happen. */
  until<T>(probe: () => T | undefined | null | false, timeoutMs = 10_000, what = 'a condition'): Promise<T> {
    return this.waiter.until(probe, timeoutMs, () => what);
  }

  /** Resolves once `count` Socket Mode connections have been accepted in total (2 = reconnected once). */
  waitForSocketConnections(count: number, timeoutMs = 15_000): Promise<true> {
    return this.waiter.until(() => this.socketHub.connections >= count && this.socketHub.connected, timeoutMs, () => `${count} socket connections`);
  }

  /** The next `times` calls of `method` get HTTP 429 + `Retry-After: retryAfterSec` + `{ok:false,error:'ratelimited'}`. */
  rateLimitNext(method: string, retryAfterSec: number, times = 1): void {
    this.api.rateLimitNext(method, retryAfterSec, times);
  }

  /**
   * The next `times` calls of `method` answer `{ok:false, error}`; with `status` (e.g. 503) at that HTTP status. With
   * `processed` the method still runs and keeps its effects: only the answer is lost.
   */
  failNext(method: string, error: string, options: { status?: number; times?: number; processed?: boolean } = {}): void {
    this.api.failNext(method, error, options);
  }

  /**
   * The next `times` calls of `method` get no answer at all (Slack hangs): the request stays open until
   * {@link releaseHung} or {@link close}. `'upload'` hangs the next POSTs of file bytes to an upload URL instead. With
   * `processed` the method still runs (its effects stay).
   */
  hangNext(method: string, options: { times?: number; processed?: boolean } = {}): void {
    if (method === 'upload') this.fileStore.hangUploads += options.times ?? 1;
    else this.api.hangNext(method, options);
  }

  /** Ends the hung requests, Web API and uploads (their clients see the connection drop). */
  releaseHung(): void {
    this.api.releaseHung();
    for (const res of this.fileStore.hungUploads) res.destroy();
    this.fileStore.hungUploads.clear();
  }

  /**
   * From now on the conversation refuses the bot with `error` (`is_archived`, `not_in_channel`, `channel_not_found`,
   * …) on chat.postMessage, chat.update, chat.postEphemeral, reactions.add and files.completeUploadExternal, as
   * Slack answers once a channel is archived or the bot removed; `false` lifts it.
   */
  refuseChannel(channel: string, error: string | false): void {
    if (error === false) this.workspace.refusals.delete(channel);
    else this.workspace.refusals.set(channel, error);
  }

  /** conversations.open with `user` answers `error` (`user_disabled`, `cannot_dm_bot`, …); `false` lifts it. */
  refuseDirectMessages(user: string, error: string | false): void {
    if (error === false) this.workspace.dmRefusals.delete(user);
    else this.workspace.dmRefusals.set(user, error);
  }

  /** The id of the bot's direct message with `user` (what conversations.open answers). */
  dmChannel(user: string): string {
    return this.workspace.dmChannelOf(user);
  }

  /** Turns on (or off with `false`) Slack's asynchronous file sharing; see {@link MissingShares}. */
  setMissingShares(policy: MissingShares | false): void {
    this.fileStore.missingShares = policy === false ? undefined : policy;
  }

  /** Adds or replaces a user (flags like `isAdmin` show in users.info). */
  addUser(user: FakeUserInit): void {
    this.workspace.users.set(user.id, user);
  }

  addChannel(channel: FakeChannelInit): void {
    this.workspace.channels.set(channel.id, channel);
  }

  /**
   * Hosts a file as if a user uploaded it; `url_private_download` serves the bytes only with the bot token. `channels`:
   * public channels it is shared in (default none: only its uploader's).
   */
  addFile(bytes: Buffer, options: { name: string; mimetype?: string; title?: string; user?: string; channels?: string[] }): FakeFile {
    return this.fileStore.addFile(bytes, options);
  }

  /** Stores a message as if `user` had posted it (e.g. something to react to). */
  seedMessage(message: { channel: string; user: string; text?: string; threadTs?: string; files?: FakeFile[] }): FakeMessage {
    const stored: FakeMessage = {
      channel: message.channel,
      ts: this.workspace.clock.next(),
      ...(message.threadTs === undefined ? {} : { thread_ts: message.threadTs }),
      text: message.text ?? '',
      user: message.user,
      ...(message.files === undefined ? {} : { files: message.files }),
      updates: 0,
    };
    this.workspace.ensureChannel(message.channel);
    this.workspace.messages.push(stored);
    return stored;
  }

  /** Without `threadTs`: every message in the channel, replies included. With it: the replies in that thread. */
  messagesIn(channel: string, threadTs?: string): FakeMessage[] {
    return this.workspace.messages.filter((m) => m.channel === channel && (threadTs === undefined || (m.thread_ts === threadTs && m.ts !== threadTs)));
  }

  message(channel: string, ts: string): FakeMessage | undefined {
    return this.workspace.findMessage(channel, ts);
  }

  /** Bytes of a file uploaded by the app (or added with {@link addFile}). */
  fileBytes(fileId: string): Buffer | undefined {
    return this.workspace.bytes.get(fileId);
  }

  responsesTo(url: string): ResponseUrlPost[] {
    return this.responses.filter((r) => r.url === url);
  }

  /** Cuts the Socket Mode connections abruptly; Bolt's client reconnects (after its 5 s back-off). */
  dropSocket(): void {
    this.socketHub.drop();
  }

  /** Sends Slack's `{"type":"disconnect"}` asking the app to reconnect. */
  sendDisconnect(reason?: string): void {
    this.socketHub.sendDisconnect(reason);
  }

  async close(): Promise<void> {
    await this.socketHub.close();
    await this.http.close();
  }

  protected issueResponseUrl(): string {
    const url = `${this.url}/commands/${this.config.teamId}/${this.responseUrls.size + 1}/${Math.random().toString(36).slice(2)}`;
    this.responseUrls.add(url);
    return url;
  }

  private async route(call: RecordedCall, res: ServerResponse): Promise<void> {
    if (call.method === 'POST' && call.path.startsWith('/api/')) return this.api.handle(call.path.slice('/api/'.length), call, res);
    if (call.method === 'POST' && call.path.startsWith('/upload/v1/')) return this.fileStore.handleUpload(call, res);
    if (call.method === 'GET' && call.path.startsWith('/files-pri/')) return this.fileStore.serveFile(call, res);
    if (call.method === 'GET' && call.path === '/signin') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return void res.end('<!DOCTYPE html><html><body>Sign in to Fluxbot Test</body></html>');
    }
    if (call.method === 'POST' && this.responseUrls.has(`${this.url}${call.path}`)) return this.recordResponse(call, res);
    notFound(res, call);
  }

  private recordResponse(call: RecordedCall, res: ServerResponse): void {
    let body: unknown = call.body;
    if (body === undefined) body = Object.fromEntries(new URLSearchParams(call.rawBody.toString('utf8')));
    this.responses.push({ url: `${this.url}${call.path}`, body, at: Date.now() });
    this.waiter.notify();
    sendJson(res, 200, { ok: true });
  }

  private describeCalls(): string {
    return this.api.calls.map((c) => `${c.method}${c.response.ok ? '' : `(${String(c.response.error)})`}`).join(', ') || 'none';
  }
}
