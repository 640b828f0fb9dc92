import type { FakeSlackOptions } from './config.js';
import { SlackFakeCore } from './core.js';
import { interactiveForm, signedPost, type HttpAnswer, type SignOptions } from './inbound-http.js';
import { publicView } from './methods-views.js';
import {
  blockActionPayload,
  commandFields,
  eventEnvelope,
  messageActionPayload,
  viewSubmissionPayload,
  type BlockActionInput,
  type MessageShortcutInput,
  type SlashCommandInput,
} from './payloads.js';
import type { EnvelopeOptions, EnvelopeType, SocketAnswer } from './socket.js';
import { stateValues, type ViewInputs } from './view-state.js';
import { randomId, type FakeView } from './workspace.js';

/** The app's answer to a delivery: its HTTP response, or its Socket Mode ack. Both have `ok` and `body`. */
export type AppAnswer = HttpAnswer | SocketAnswer;

/** How to deliver: `http` (signed POST to the receiver URL) or `socket`. Default: the socket if one is open, else HTTP. */
export interface DeliveryOptions {
  via?: 'http' | 'socket';
}

/** Events API redelivery: reuse `eventId` and set `retryNum` (HTTP `x-slack-retry-num`, socket `retry_attempt`). */
export interface EventDeliveryOptions extends DeliveryOptions {
  eventId?: string;
  retryNum?: number;
  /** Default `http_timeout` (HTTP) / `timeout` (socket) when `retryNum` is set. */
  retryReason?: string;
}

/** Input of {@link FakeSlack.viewSubmission}. */
export interface ViewSubmissionInput {
  /** The opened view (or its id). Default: the view opened most recently. */
  view?: FakeView | string;
  /** Who submits. Default: the user the view was opened for. */
  user?: string;
  /** What the user entered, by action_id; turned into `state.values` (see {@link stateValues}). */
  inputs?: ViewInputs;
  /** Raw `state.values`, instead of `inputs`. */
  values?: Record<string, Record<string, unknown>>;
}

/**
 * A fake Slack for the real Bolt app: Web API at {@link apiUrl}, file uploads and private files, response URLs, Socket
 * Mode, and helpers that deliver slash commands, events and interactions to the app signed the way Slack signs them.
 *
 * ```ts
 * const slack = await FakeSlack.start({ users: [{ id: 'U1', isAdmin: true }] });
 * const { stop } = await startBoltApp(slack, 'http', (app) => app.command('/flux', handler)); // or 'socket'
 * const answer = await slack.slashCommand({ user: 'U1', channel: 'C1', text: 'a cat' });
 * await slack.waitForCall('chat.postMessage');
 * ```
 */
export class FakeSlack extends SlackFakeCore {
  private receiverUrl: string | undefined;

  /** Starts the fake on 127.0.0.1 and a free port. */
  static async start(options: FakeSlackOptions = {}): Promise<FakeSlack> {
    const fake = new FakeSlack(options);
    await fake.listen();
    return fake;
  }

  /** Where HTTP-mode deliveries go: the app's events URL, e.g. `http://127.0.0.1:PORT/slack/events`. */
  useHttpReceiver(url: string): void {
    this.receiverUrl = url;
  }

  /**
   * A user runs a slash command. The answer also carries the `triggerId` (exchangeable once within 3 s) and the
   * `responseUrl` (its posts land in {@link responses}).
   */
  async slashCommand(input: SlashCommandInput, options: DeliveryOptions = {}): Promise<AppAnswer & { triggerId: string; responseUrl: string }> {
    this.ensureUser(input.user);
    this.workspace.ensureChannel(input.channel, input.channelName);
    const triggerId = input.triggerId ?? this.workspace.issueTrigger(input.user);
    const responseUrl = this.issueResponseUrl();
    const fields = commandFields(this.workspace, this.config, input, triggerId, responseUrl);
    const answer =
      this.via(options) === 'socket'
        ? await this.deliverSocket('slash_commands', fields, { acceptsResponsePayload: true })
        : await this.deliverHttp(new URLSearchParams(fields).toString(), 'application/x-www-form-urlencoded');
    return { ...answer, triggerId, responseUrl };
  }

  /** Delivers any Events API event (wrapped in the `event_callback` envelope). */
  async event(event: Record<string, unknown>, options: EventDeliveryOptions = {}): Promise<AppAnswer & { eventId: string }> {
    const eventId = options.eventId ?? randomId('Ev', 10);
    const envelope = eventEnvelope(this.workspace, this.config, event, eventId);
    let answer: AppAnswer;
    if (this.via(options) === 'socket') {
      const retry = options.retryNum === undefined ? {} : { retryAttempt: options.retryNum, retryReason: options.retryReason ?? 'timeout' };
      answer = await this.deliverSocket('events_api', envelope, { acceptsResponsePayload: false, ...retry });
    } else {
      const headers: Record<string, string> =
        options.retryNum === undefined
          ? {}
          : { 'x-slack-retry-num': String(options.retryNum), 'x-slack-retry-reason': options.retryReason ?? 'http_timeout' };
      answer = await this.deliverHttp(JSON.stringify(envelope), 'application/json', headers);
    }
    return { ...answer, eventId };
  }

  /** `reaction_added` on the message `channel`/`ts` (whose author is `itemUser`, default: the stored message's). */
  reactionAdded(
    input: { user: string; reaction: string; channel: string; ts: string; itemUser?: string },
    options: EventDeliveryOptions = {},
  ): Promise<AppAnswer & { eventId: string }> {
    this.ensureUser(input.user);
    const itemUser = input.itemUser ?? this.workspace.findMessage(input.channel, input.ts)?.user;
    return this.event(
      {
        type: 'reaction_added',
        user: input.user,
        reaction: input.reaction,
        ...(itemUser === undefined ? {} : { item_user: itemUser }),
        item: { type: 'message', channel: input.channel, ts: input.ts },
      },
      options,
    );
  }

  /** The user submits a modal the app opened. The answer's `body` is the app's ack (e.g. `response_action: errors`). */
  async viewSubmission(input: ViewSubmissionInput = {}, options: DeliveryOptions = {}): Promise<AppAnswer> {
    const view = this.resolveView(input.view);
    const user = input.user ?? view.openedFor;
    const submitted = { ...publicView(view), state: { values: input.values ?? stateValues(view.blocks, input.inputs ?? {}, (id) => this.workspace.files.get(id)) } };
    const payload = viewSubmissionPayload(this.workspace, this.config, user, submitted, this.workspace.issueTrigger(user));
    return this.deliverInteractive(payload, true, options);
  }

  /**
   * The user clicks a button (on a message, or in a view or Home tab). The button's value and block come from the
   * surface, as Slack sends them, unless `value`/`blockId` forge them. The answer carries the `payload` sent, so a test
   * can replay it with {@link interactive}.
   */
  async blockAction(input: BlockActionInput, options: DeliveryOptions = {}): Promise<AppAnswer & { triggerId: string; responseUrl: string; payload: Record<string, unknown> }> {
    this.ensureUser(input.user);
    const triggerId = input.triggerId ?? this.workspace.issueTrigger(input.user);
    const responseUrl = this.issueResponseUrl();
    const payload = blockActionPayload(this.workspace, this.config, input, triggerId, responseUrl);
    return { ...(await this.deliverInteractive(payload, false, options)), triggerId, responseUrl, payload };
  }

  /** The user runs a message shortcut (`message_action`) on a stored message. */
  async messageShortcut(input: MessageShortcutInput, options: DeliveryOptions = {}): Promise<AppAnswer & { triggerId: string }> {
    this.ensureUser(input.user);
    const triggerId = this.workspace.issueTrigger(input.user);
    const payload = messageActionPayload(this.workspace, this.config, input, triggerId, this.issueResponseUrl());
    return { ...(await this.deliverInteractive(payload, false, options)), triggerId };
  }

  /** The user opens the app's Home tab (`app_home_opened` with `tab: home`). */
  appHomeOpened(user: string, options: EventDeliveryOptions = {}): Promise<AppAnswer & { eventId: string }> {
    this.ensureUser(user);
    const home = this.workspace.homes.get(user);
    return this.event({ type: 'app_home_opened', user, channel: this.dmChannel(user), tab: 'home', ...(home ? { view: publicView(home) } : {}) }, options);
  }

  /** Delivers an interactive payload as given: a replay of an earlier one, or a forged one (still signed). */
  interactive(payload: Record<string, unknown>, options: DeliveryOptions = {}): Promise<AppAnswer> {
    return this.deliverInteractive(payload, payload.type === 'view_submission', options);
  }

  /**
   * POSTs `body` to `path` on the app's HTTP receiver (or to an absolute URL), signed with the fake's secret unless
   * `options` override it: use `secret` to forge, `timestamp` to go stale, `signature` to send garbage.
   */
  signedPost(path: string, body: string, options: SignOptions = {}): Promise<HttpAnswer> {
    const url = /^https?:/.test(path) ? path : new URL(path, this.requireReceiver()).toString();
    return signedPost(url, body, this.config.signingSecret, options);
  }

  private via(options: DeliveryOptions): 'http' | 'socket' {
    if (options.via) return options.via;
    return this.socketHub.connected ? 'socket' : 'http';
  }

  private deliverHttp(body: string, contentType: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    return signedPost(this.requireReceiver(), body, this.config.signingSecret, { contentType, headers });
  }

  private deliverSocket(type: EnvelopeType, payload: unknown, options: EnvelopeOptions): Promise<SocketAnswer> {
    return this.socketHub.deliver(type, payload, options, this.config.ackTimeoutMs);
  }

  private deliverInteractive(payload: Record<string, unknown>, acceptsResponsePayload: boolean, options: DeliveryOptions): Promise<AppAnswer> {
    return this.via(options) === 'socket'
      ? this.deliverSocket('interactive', payload, { acceptsResponsePayload })
      : this.deliverHttp(interactiveForm(payload), 'application/x-www-form-urlencoded');
  }

  private requireReceiver(): string {
    if (!this.receiverUrl) throw new Error('FakeSlack: no Socket Mode connection and no HTTP receiver; call useHttpReceiver(url) first');
    return this.receiverUrl;
  }

  private resolveView(view: FakeView | string | undefined): FakeView {
    const id = typeof view === 'string' ? view : view?.id;
    const found = id === undefined ? [...this.workspace.views.values()].at(-1) : this.workspace.views.get(id);
    if (!found) throw new Error(`FakeSlack: no opened view ${id ?? '(none opened yet)'} to submit`);
    return found;
  }

  private ensureUser(id: string): void {
    if (!this.workspace.users.has(id)) this.addUser({ id });
  }
}
