import type { App } from '@slack/bolt';
import { blockFor, FLUX_MODAL_ID, IMAGE_LINKS_ID, modalChannel, readModal } from './flux-modal.js';
import { replyPrivately } from './private-reply.js';
import { submitRequest, validateRequest, type SlackServices } from './submit-flow.js';

/**
 * The /flux modal's view_submission: problems are answered as `response_action: errors` under the field (the modal
 * stays open, nothing is submitted); a valid form closes the modal and runs the same submission as typed options.
 */
export function registerModal(app: App, svc: SlackServices): void {
  app.view(FLUX_MODAL_ID, async ({ ack, view, body, client }) => {
    const read = readModal(view);
    if (!read.ok) return void (await ack({ response_action: 'errors', errors: read.errors }));
    const valid = validateRequest(read.input, read.slackFile, svc.config, read.images);
    if (!valid.ok) {
      // The core names `image_prompt` for both the file and the link, and `images` for files and links alike; put
      // the message where the person gave them.
      const onlyLinks = (read.images ?? []).length > 0 && read.images!.every((entry) => 'link' in entry);
      const field =
        valid.field === 'image_prompt' && !read.slackFile ? 'image_prompt_url' : valid.field === 'images' ? (onlyLinks ? IMAGE_LINKS_ID : 'image') : valid.field;
      return void (await ack({ response_action: 'errors', errors: { [blockFor(view, field)]: valid.text } }));
    }
    const channelId = modalChannel(view);
    const teamId = body.team?.id ?? view.team_id;
    await ack();
    if (!channelId) return void svc.logger.warn({ viewId: view.id }, 'modal without its channel; ignored');
    const userId = body.user.id;
    const call = {
      client,
      requester: { platform: 'slack' as const, guildId: teamId, userId, displayName: body.user.name },
      channelId,
      dedupeKey: `slack:view:${view.id}`,
      reply: (text: string) => replyPrivately(client, { channel: channelId, user: userId }, text),
    };
    await submitRequest(svc, call, valid.request, read.slackFile, read.images);
  });
}
