import type { FakeSlackConfig } from './config.js';
import { publicView } from './methods-views.js';
import { randomId, type Workspace } from './workspace.js';

/** Input of {@link FakeSlack.slashCommand}. */
export interface SlashCommandInput {
  user: string;
  channel: string;
  /** Default `/flux`. */
  command?: string;
  /** Everything after the command. Default `''`. */
  text?: string;
  channelName?: string;
  /** Default: a fresh trigger id the app may exchange once within 3 s. */
  triggerId?: string;
}

/** Input of {@link FakeSlack.blockAction}. */
export interface BlockActionInput {
  user: string;
  actionId: string;
  value?: string;
  blockId?: string;
  /** The message the button sits on (container `message`). */
  channel?: string;
  messageTs?: string;
  /** Or the view the element sits in (container `view`): a modal, or a user's Home tab. */
  viewId?: string;
  /** Reuse a trigger id (a replayed click); default a fresh one. */
  triggerId?: string;
  /** Reuse an action_ts (a replayed click); default a fresh one. */
  actionTs?: string;
  /** The workspace the click comes from (a forged or foreign click); default the fake's. */
  teamId?: string;
}

/** Input of {@link FakeSlack.messageShortcut}. */
export interface MessageShortcutInput {
  user: string;
  channel: string;
  messageTs: string;
  /** The shortcut's callback_id (as configured for the app). */
  callbackId: string;
}

/** Verification token Slack still puts in payloads (deprecated; Bolt ignores it). */
const LEGACY_TOKEN = 'fake-verification-token';

export function userRef(ws: Workspace, id: string): Record<string, unknown> {
  const name = ws.users.get(id)?.name ?? id.toLowerCase();
  return { id, username: name, name, team_id: ws.teamId };
}

/** The form fields of a slash command (Socket Mode delivers the same fields as a JSON object). */
export function commandFields(
  ws: Workspace,
  config: FakeSlackConfig,
  input: SlashCommandInput,
  triggerId: string,
  responseUrl: string,
): Record<string, string> {
  return {
    token: LEGACY_TOKEN,
    team_id: ws.teamId,
    team_domain: ws.teamDomain,
    channel_id: input.channel,
    channel_name: input.channelName ?? ws.channels.get(input.channel)?.name ?? input.channel.toLowerCase(),
    user_id: input.user,
    user_name: ws.users.get(input.user)?.name ?? input.user.toLowerCase(),
    command: input.command ?? '/flux',
    text: input.text ?? '',
    api_app_id: config.appId,
    is_enterprise_install: 'false',
    response_url: responseUrl,
    trigger_id: triggerId,
  };
}

/** The Events API envelope (`type: event_callback`) around one event. */
export function eventEnvelope(ws: Workspace, config: FakeSlackConfig, event: Record<string, unknown>, eventId: string): Record<string, unknown> {
  const eventTs = ws.clock.next();
  return {
    token: LEGACY_TOKEN,
    team_id: ws.teamId,
    context_team_id: ws.teamId,
    context_enterprise_id: null,
    api_app_id: config.appId,
    event: { event_ts: eventTs, ...event },
    type: 'event_callback',
    event_id: eventId,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ enterprise_id: null, team_id: ws.teamId, user_id: config.botUserId, is_bot: true, is_enterprise_install: false }],
    is_ext_shared_channel: false,
    event_context: randomId('4-', 24),
  };
}

export function viewSubmissionPayload(
  ws: Workspace,
  config: FakeSlackConfig,
  user: string,
  view: Record<string, unknown>,
  triggerId: string,
): Record<string, unknown> {
  return {
    type: 'view_submission',
    team: { id: ws.teamId, domain: ws.teamDomain },
    user: userRef(ws, user),
    api_app_id: config.appId,
    token: LEGACY_TOKEN,
    trigger_id: triggerId,
    view,
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
}

export function blockActionPayload(
  ws: Workspace,
  config: FakeSlackConfig,
  input: BlockActionInput,
  triggerId: string,
  responseUrl: string,
): Record<string, unknown> {
  const message = input.channel && input.messageTs ? ws.findMessage(input.channel, input.messageTs) : undefined;
  const view = input.viewId === undefined ? undefined : (ws.views.get(input.viewId) ?? [...ws.homes.values()].find((h) => h.id === input.viewId));
  // The clicked element as the surface shows it: its value and block come from there unless the test forges them.
  const clicked = findElement(message?.blocks ?? view?.blocks, input.actionId, input.blockId);
  const container =
    input.viewId !== undefined
      ? { type: 'view', view_id: input.viewId }
      : { type: 'message', message_ts: input.messageTs, channel_id: input.channel, is_ephemeral: false };
  return {
    type: 'block_actions',
    user: userRef(ws, input.user),
    api_app_id: config.appId,
    token: LEGACY_TOKEN,
    container,
    trigger_id: triggerId,
    team: { id: input.teamId ?? ws.teamId, domain: ws.teamDomain },
    enterprise: null,
    is_enterprise_install: false,
    ...(input.channel === undefined ? {} : { channel: { id: input.channel, name: ws.channels.get(input.channel)?.name ?? input.channel } }),
    ...(message === undefined ? {} : { message: { type: 'message', user: message.user, text: message.text, ts: message.ts, blocks: message.blocks } }),
    ...(view === undefined ? {} : { view: publicView(view) }),
    state: { values: {} },
    response_url: responseUrl,
    actions: [
      {
        action_id: input.actionId,
        block_id: input.blockId ?? clicked?.blockId ?? randomId('', 5).toLowerCase(),
        type: clicked?.element.type ?? 'button',
        ...(clicked?.element.text === undefined ? {} : { text: clicked.element.text }),
        value: input.value ?? (typeof clicked?.element.value === 'string' ? clicked.element.value : ''),
        action_ts: input.actionTs ?? ws.clock.next(),
      },
    ],
  };
}

/** The element with `actionId` in a surface's blocks (in the block `blockId`, when given), with its block's id. */
export function findElement(blocks: unknown, actionId: string, blockId?: string): { blockId: string; element: Record<string, unknown> } | undefined {
  if (!Array.isArray(blocks)) return undefined;
  for (const block of blocks as Array<Record<string, unknown>>) {
    if (blockId !== undefined && block.block_id !== blockId) continue;
    const elements = block.type === 'actions' ? ((block.elements as Array<Record<string, unknown>> | undefined) ?? []) : block.accessory ? [block.accessory as Record<string, unknown>] : [];
    const element = elements.find((e) => e.action_id === actionId);
    if (element) return { blockId: String(block.block_id), element };
  }
  return undefined;
}

/** A message shortcut (`message_action`) on a stored message, as Slack delivers it. */
export function messageActionPayload(
  ws: Workspace,
  config: FakeSlackConfig,
  input: MessageShortcutInput,
  triggerId: string,
  responseUrl: string,
): Record<string, unknown> {
  const message = ws.findMessage(input.channel, input.messageTs);
  if (!message) throw new Error(`FakeSlack: no message ${input.messageTs} in ${input.channel} to run a shortcut on`);
  return {
    type: 'message_action',
    token: LEGACY_TOKEN,
    action_ts: ws.clock.next(),
    team: { id: ws.teamId, domain: ws.teamDomain },
    user: userRef(ws, input.user),
    channel: { id: input.channel, name: ws.channels.get(input.channel)?.name ?? input.channel.toLowerCase() },
    is_enterprise_install: false,
    enterprise: null,
    callback_id: input.callbackId,
    trigger_id: triggerId,
    response_url: responseUrl,
    message_ts: message.ts,
    message: {
      type: 'message',
      user: message.user,
      ts: message.ts,
      text: message.text,
      ...(message.thread_ts === undefined ? {} : { thread_ts: message.thread_ts }),
      ...(message.files === undefined ? {} : { files: structuredClone(message.files), upload: true }),
    },
  };
}
