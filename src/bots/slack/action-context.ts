import type { webApi } from '@slack/bolt';
import type { JobRecord } from '../../core/jobs/job-records.js';
import type { DeliveryTarget, Requester } from '../../core/ports.js';
import type { ActionRefusal } from '../../core/queue/image-actions.js';
import type { ImageButtonRef } from './image-buttons.js';
import type { ImagePromptDeps } from './image-prompt.js';
import { replyPrivately } from './private-reply.js';
import { openDirectMessage } from './slack-uploads.js';
import { statusHeader, statusText } from './slack-text.js';
import type { SlackServices, SlackStatus } from './submit-flow.js';

/** The part of a block_actions or view_submission body that says who acted, in which workspace and where. */
export interface ActorBody {
  user: { id: string; name?: string; team_id?: string };
  team?: { id: string } | null;
  channel?: { id: string };
  trigger_id?: string;
}

/** Who clicked or submitted, as the core counts them (charged to them). */
export function actorOf(body: ActorBody): Requester {
  const guildId = body.team?.id ?? body.user.team_id ?? '';
  return { platform: 'slack', guildId, userId: body.user.id, ...(body.user.name ? { displayName: body.user.name } : {}) };
}

/**
 * Tells the person privately: an ephemeral message in the conversation they acted in (in the image's thread when
 * known), else (a click on the App Home, which is no conversation) a direct message with the bot.
 */
export async function tell(client: webApi.WebClient, to: { user: string; channel?: string | undefined; threadTs?: string | undefined }, text: string): Promise<void> {
  if (to.channel) return replyPrivately(client, { channel: to.channel, user: to.user, threadTs: to.threadTs }, text);
  const dm = await openDirectMessage(client, to.user);
  await client.chat.postMessage({ channel: dm, text });
}

/**
 * The record a button or form names, checked as the core checks it (it exists, its job is the one named, it is of the
 * actor's workspace): needed before a modal opens or an image is read back, where the core's own check comes later.
 */
export async function findRecord(svc: SlackServices, ref: ImageButtonRef, actor: Requester): Promise<JobRecord | Extract<ActionRefusal, { status: 'not_found' | 'other_guild' }>> {
  return svc.core.actions.find({ platform: 'slack', messageId: ref.messageId }, actor, ref.jobId);
}

/** Downloads Slack files with the bot token (files the bot uploaded, or a member's image on the shortcut). */
export function fileDeps(svc: SlackServices, client: webApi.WebClient): ImagePromptDeps {
  return { client, botToken: svc.botToken, trustedHosts: svc.trustedFileHosts };
}

/**
 * The status message of an action on a recorded image, posted in its thread once the action is admitted (the service
 * runs it between admission and enqueue); `posted` holds it for the outcome (or for deleting it on failure).
 */
export function statusInThread(client: webApi.WebClient, record: JobRecord, actor: Requester, prompt: string, reroll: boolean) {
  const header = statusHeader(actor.userId, prompt, reroll);
  const state: { posted: SlackStatus | undefined } = { posted: undefined };
  const post = async (): Promise<Partial<DeliveryTarget>> => {
    const threadTs = record.threadId ?? record.messageId;
    const posted = await client.chat.postMessage({ channel: record.channelId, thread_ts: threadTs, text: statusText(header, { kind: 'queued', text: 'Queued…' }) });
    if (!posted.ts) throw new Error('chat.postMessage returned no ts');
    state.posted = { channel: record.channelId, ts: posted.ts, header };
    // A reroll is marked so (its caption says "rerolled"); a vary or edit of a reroll is not one.
    const { reroll: _wasReroll, ...extra } = record.target.extra ?? {};
    return { statusMessageId: posted.ts, extra: reroll ? { ...extra, reroll: '1' } : extra };
  };
  return { post, state };
}
