import type { App } from '@slack/bolt';
import { submitText } from '../../commands/replies.js';
import { EDIT_MODELS, isEditModel, type ImageBytes } from '../../core/queue/image-actions.js';
import { parseFluxRequest } from '../../core/request.js';
import { actorOf, fileDeps, findRecord, statusInThread, tell, type ActorBody } from './action-context.js';
import { NO_IMAGE_FILES_TEXT, refusalText } from './action-text.js';
import { imageRef } from './image-buttons.js';
import { readDeliveredImage } from './delivered-image.js';
import { EDIT_MODAL_ID, EDIT_SHORTCUT_ID, editModal, modelBlock, promptBlock, readEditModal } from './edit-modal.js';
import { fileStandIn, checkReferenceFileMeta } from './reference-files.js';
import { userTextFor } from './slack-errors.js';
import { slackTime } from './slack-text.js';
import { deleteQuietly, refusedText, settle, submitRequest, type SlackServices } from './submit-flow.js';

interface ShortcutFile {
  id?: string;
  name?: string;
  title?: string;
  mimetype?: string;
  size?: number;
}

interface MessageShortcutBody {
  trigger_id: string;
  channel?: { id: string };
  user: { id: string };
  message_ts?: string;
  message?: { ts?: string; thread_ts?: string; files?: ShortcutFile[] };
}

/**
 * The edit form and the "Edit with FLUX" message shortcut. The form's submission is checked before the ack (a prompt
 * or model the core refuses is shown under its field, nothing admitted); then the edit is submitted, keyed by the
 * view id so a form submitted twice is charged once. From an image's Edit button it edits that image (read back from
 * Slack); from the shortcut, the chosen image file of the message, read with the image prompt files' privacy rules
 * (the person's own file, or one shared in that conversation), the result in the message's thread.
 */
export function registerEdit(app: App, svc: SlackServices): void {
  app.shortcut({ callback_id: EDIT_SHORTCUT_ID, type: 'message_action' }, async ({ ack, shortcut, client }) => {
    await ack();
    const s = shortcut as unknown as MessageShortcutBody;
    const channel = s.channel?.id;
    const files = (s.message?.files ?? [])
      .filter((f): f is ShortcutFile & { id: string } => typeof f.id === 'string' && checkReferenceFileMeta(f) === undefined)
      .map((f) => ({ id: f.id, name: f.name ?? f.title ?? f.id }));
    const threadTs = s.message?.thread_ts ?? s.message?.ts ?? s.message_ts;
    try {
      if (!channel || !threadTs || files.length === 0) return void (await tell(client, { user: s.user.id, channel }, NO_IMAGE_FILES_TEXT));
      await client.views.open({ trigger_id: s.trigger_id, view: editModal({ kind: 'message', channel, threadTs, files }, svc.core.actions.editModel) });
    } catch (err) {
      svc.logger.warn({ err }, 'could not open the edit form');
      await tell(client, { user: s.user.id, channel }, userTextFor(err)).catch(() => undefined);
    }
  });

  app.view(EDIT_MODAL_ID, async ({ ack, view, body, client, context }) => {
    const read = readEditModal(view);
    if (!read.ok) return void (await ack({ response_action: 'errors', errors: read.errors }));
    const model = read.model || svc.core.actions.editModel;
    if (!isEditModel(model)) return void (await ack({ response_action: 'errors', errors: { [modelBlock(view)]: `Choose one of ${EDIT_MODELS.join(', ')}.` } }));
    // Checked as the core will check it, the image standing in as a link (it is read after the ack).
    const stand = fileStandIn(read.fileId ?? 'F0IMAGE');
    const parsed = parseFluxRequest({ prompt: read.prompt, model, images: [stand] });
    if (!parsed.ok) {
      const block = parsed.error.field === 'model' ? modelBlock(view) : promptBlock(view);
      const message = parsed.error.message;
      return void (await ack({ response_action: 'errors', errors: { [block]: `${message.charAt(0).toUpperCase()}${message.slice(1)}` } }));
    }
    await ack();
    const actor = actorOf(body as ActorBody);
    const dedupeKey = `slack:view:${view.id}`;
    const subject = read.subject;
    const log = svc.logger.child({ user: actor.userId, dedupeKey });
    if (subject.kind === 'message') {
      const reply = (text: string) => tell(client, { user: actor.userId, channel: subject.channel, threadTs: subject.threadTs }, text);
      const call = { client, requester: actor, channelId: subject.channel, threadTs: subject.threadTs, dedupeKey, reply };
      return submitRequest(svc, call, parsed.request, undefined, [{ fileId: read.fileId! }]);
    }
    const where = { user: actor.userId, channel: subject.channel };
    try {
      const record = await findRecord(svc, subject.ref, actor);
      if ('status' in record) return void (await tell(client, where, refusalText(record)));
      const reply = (text: string) => tell(client, { ...where, threadTs: record.threadId }, text);
      const status = statusInThread(client, record, actor, read.prompt, false);
      const image: ImageBytes = (at) => readDeliveredImage(fileDeps(svc, client), context.botUserId ?? '', record, at.index ?? 0);
      // E3 of a gallery: image 3 (index 2); the form of a one-image message names none.
      const index = (subject.n ?? 1) - 1;
      let result;
      try {
        result = await svc.core.actions.edit(imageRef(subject.ref), actor, { dedupeKey, jobId: subject.ref.jobId, prompt: read.prompt, model, image, target: status.post, index });
      } catch (err) {
        log.info({ err }, 'edit refused');
        if (status.state.posted) await deleteQuietly(client, status.state.posted.channel, status.state.posted.ts, log);
        return void (await reply(refusedText(err)));
      }
      if (result.status === 'queued') return settle(svc, { client, requester: actor, channelId: record.channelId, dedupeKey, reply }, result, status.state.posted);
      await reply(result.status === 'duplicate' || result.status === 'refused' ? submitText(result, slackTime).text : refusalText(result));
    } catch (err) {
      log.warn({ err }, 'edit failed');
      await tell(client, where, userTextFor(err)).catch(() => undefined);
    }
  });
}
