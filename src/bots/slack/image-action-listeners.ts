import type { App, webApi } from '@slack/bolt';
import { submitText } from '../../commands/replies.js';
import type { JobRecord } from '../../core/jobs/job-records.js';
import type { Requester } from '../../core/ports.js';
import type { ActionResult, ImageBytes } from '../../core/queue/image-actions.js';
import type { RerollResult } from '../../core/queue/generation-service.js';
import { actorOf, fileDeps, findRecord, statusInThread, tell, type ActorBody } from './action-context.js';
import { DELETED_TEXT, FORGED_BUTTON_TEXT, refusalText } from './action-text.js';
import { isWorkspaceAdmin } from './commands.js';
import { findDeliveredFile, readDeliveredImage, recordImages } from './delivered-image.js';
import { editModal } from './edit-modal.js';
import { GALLERY_ACTION, IMAGE_ACTION, imageRef, parseGalleryButton, parseImageButtonValue, type GalleryButtonRef, type ImageButtonRef } from './image-buttons.js';
import { slackError, userTextFor } from './slack-errors.js';
import { slackTime } from './slack-text.js';
import { deleteQuietly, refusedText, settle, type SlackServices, type SlackStatus } from './submit-flow.js';

/** A click as the listeners read it: who, where, the button's value, and the message it sits on (if any). */
interface Click {
  body: ActorBody & { container?: { type?: string; message_ts?: string; channel_id?: string }; actions?: Array<{ action_ts?: string }> };
  value: unknown;
  client: webApi.WebClient;
  botUserId: string;
}

/**
 * The buttons under a delivered image (and on the App Home): Reroll, Vary and Edit charged to whoever clicks (their
 * quota, budget and ban checked in the one admission call), Delete for the requester or a workspace admin. Each acks
 * at once (Slack's 3 s), then finds the job record the button names: nothing of the image lives in memory, so buttons
 * work after restarts. A replayed click (same trigger) is charged once; a value the bot never wrote is refused.
 */
export function registerImageButtons(app: App, svc: SlackServices): void {
  const on = <R extends ImageButtonRef>(
    action: string | RegExp,
    run: (click: Click, ref: R, actor: Requester) => Promise<void>,
    parse: (actionId: unknown, value: unknown) => R | undefined = (_id, value) => parseImageButtonValue(value) as R | undefined,
  ) =>
    app.action(action, async ({ ack, body, action: element, client, context }) => {
      await ack();
      const click: Click = { body: body as Click['body'], value: (element as { value?: unknown }).value, client, botUserId: context.botUserId ?? '' };
      const actor = actorOf(click.body);
      const where = { user: actor.userId, channel: click.body.channel?.id };
      const ref = parse((element as { action_id?: unknown }).action_id, click.value);
      const log = svc.logger.child({ action, user: actor.userId });
      if (!ref) {
        log.info({ value: String(click.value).slice(0, 100) }, 'button with a value the bot never wrote');
        return void (await tell(client, where, FORGED_BUTTON_TEXT).catch(() => undefined));
      }
      try {
        await run(click, ref, actor);
      } catch (err) {
        log.warn({ err }, 'image button failed');
        await tell(client, where, userTextFor(err)).catch(() => undefined);
      }
    });

  on(IMAGE_ACTION.reroll, async (click, ref, actor) => {
    const record = await recordOr(svc, click, ref, actor);
    if (!record) return;
    const status = statusInThread(click.client, record, actor, record.request.prompt, true);
    await submitted(svc, click, record, actor, status.state, () =>
      svc.core.actions.reroll(imageRef(ref), actor, { dedupeKey: dedupeKey(click), jobId: ref.jobId, target: status.post }),
    );
  });

  // Vary of a one-image message (its image), and V1…V4 of a gallery (the image named).
  const vary = async (click: Click, ref: ImageButtonRef, actor: Requester, n: number) => {
    const record = await recordOr(svc, click, ref, actor);
    if (!record) return;
    if (n > recordImages(record)) return void (await tell(click.client, { user: actor.userId, channel: click.body.channel?.id }, refusalText({ status: 'no_image' })));
    const status = statusInThread(click.client, record, actor, record.request.prompt, false);
    const image: ImageBytes = (at) => readDeliveredImage(fileDeps(svc, click.client), click.botUserId, record, at.index ?? 0);
    await submitted(svc, click, record, actor, status.state, () =>
      svc.core.actions.vary(imageRef(ref), actor, { dedupeKey: dedupeKey(click), jobId: ref.jobId, image, target: status.post, index: n - 1 }),
    );
  };
  on(IMAGE_ACTION.vary, (click, ref, actor) => vary(click, ref, actor, 1));
  on(GALLERY_ACTION.vary, (click, ref: GalleryButtonRef, actor) => vary(click, ref, actor, ref.n), (id, value) => parseGalleryButton('vary', id, value));

  // Edit of a one-image message, and E1…E4 of a gallery: the form carries which image.
  const edit = async (click: Click, ref: ImageButtonRef, actor: Requester, n: number) => {
    const record = await recordOr(svc, click, ref, actor);
    if (!record) return;
    if (n > recordImages(record)) return void (await tell(click.client, { user: actor.userId, channel: click.body.channel?.id }, refusalText({ status: 'no_image' })));
    // The trigger expires 3 s after the click: the form opens now; the edit is admitted when it is submitted.
    const subject = { kind: 'image' as const, ref: { messageId: ref.messageId, jobId: ref.jobId }, channel: record.channelId, ...(recordImages(record) >= 2 ? { n } : {}) };
    const view = editModal(subject, svc.core.actions.editModel);
    await click.client.views.open({ trigger_id: click.body.trigger_id ?? '', view });
  };
  on(IMAGE_ACTION.edit, (click, ref, actor) => edit(click, ref, actor, 1));
  on(GALLERY_ACTION.edit, (click, ref: GalleryButtonRef, actor) => edit(click, ref, actor, ref.n), (id, value) => parseGalleryButton('edit', id, value));

  on(IMAGE_ACTION.delete, async (click, ref, actor) => {
    const record = await recordOr(svc, click, ref, actor);
    if (!record) return;
    const own = record.requester.userId === actor.userId;
    // Slack's admins and owners, or SLACK_ADMIN_USER_IDS: the same check as /flux-admin.
    const canManage = !own && (await isWorkspaceAdmin(click.client, svc.config.SLACK_ADMIN_USER_IDS, actor.userId));
    const result = await svc.core.actions.delete(imageRef(ref), actor, { canManage, jobId: ref.jobId });
    const where = { user: actor.userId, channel: click.body.channel?.id ?? record.channelId, threadTs: record.threadId };
    if (result.status !== 'allowed') return void (await tell(click.client, where, refusalText(result)));
    await removeImage(click, record);
    await svc.core.actions.forget(imageRef(ref));
    svc.logger.info({ user: actor.userId, jobId: record.jobId, own }, 'image deleted');
    await tell(click.client, where, DELETED_TEXT);
  });
}

/** The record the button names, or undefined once the person was told why there is none. */
async function recordOr(svc: SlackServices, click: Click, ref: ImageButtonRef, actor: Requester): Promise<JobRecord | undefined> {
  const found = await findRecord(svc, ref, actor);
  if ('status' in found) {
    await tell(click.client, { user: actor.userId, channel: click.body.channel?.id }, refusalText(found));
    return undefined;
  }
  return found;
}

/** Platform-prefixed id of the click: Slack sends a replayed click with the same trigger, so it is charged once. */
function dedupeKey(click: Click): string {
  return `slack:action:${click.body.trigger_id ?? click.body.actions?.[0]?.action_ts ?? ''}`;
}

/** Runs an action that submits a job, and shows its outcome: on its status message, or privately. */
async function submitted(
  svc: SlackServices,
  click: Click,
  record: JobRecord,
  actor: Requester,
  status: { posted: SlackStatus | undefined },
  run: () => Promise<ActionResult | RerollResult>,
): Promise<void> {
  const reply = (text: string) => tell(click.client, { user: actor.userId, channel: click.body.channel?.id ?? record.channelId, threadTs: record.threadId }, text);
  let result: ActionResult | RerollResult;
  try {
    result = await run();
  } catch (err) {
    if (status.posted) await deleteQuietly(click.client, status.posted.channel, status.posted.ts, svc.logger);
    return void (await reply(refusedText(err)));
  }
  if (result.status !== 'queued' && result.status !== 'duplicate' && result.status !== 'refused') return void (await reply(refusalText(result)));
  if (result.status !== 'queued') return void (await reply(submitText(result, slackTime).text));
  const call = { client: click.client, requester: actor, channelId: record.channelId, dedupeKey: dedupeKey(click), reply };
  await settle(svc, call, result, status.posted);
}

/**
 * Removes a delivered image: its message, its file (files.delete; Slack then shows the message as deleted) and the
 * message of its buttons. Already gone is fine: a second click or someone faster did it.
 */
async function removeImage(click: Click, record: JobRecord): Promise<void> {
  const gone = (err: unknown) => {
    const code = slackError(err);
    if (code !== 'message_not_found' && code !== 'file_not_found' && code !== 'file_deleted') throw err;
  };
  // Every file of the message (a gallery's k files are one message).
  const files = await Promise.all(Array.from({ length: recordImages(record) }, (_, i) => findDeliveredFile(click.client, click.botUserId, record, i)));
  await click.client.chat.delete({ channel: record.channelId, ts: record.messageId }).catch(gone);
  for (const file of files) if (file) await click.client.files.delete({ file: file.id }).catch(gone);
  const container = click.body.container;
  if (container?.type === 'message' && container.message_ts && container.channel_id && container.message_ts !== record.messageId) {
    await click.client.chat.delete({ channel: container.channel_id, ts: container.message_ts }).catch(gone);
  }
}
