import type { App, types } from '@slack/bolt';
import { runQuotaCommand } from '../../commands/flux-admin.js';
import { MODELS, isModelId } from '../../core/models.js';
import type { Requester } from '../../core/ports.js';
import { truncate } from '../../core/text.js';
import { recordImages } from './delivered-image.js';
import { galleryButtons, imageActionsBlock, recordButtonRef } from './image-buttons.js';
import { escapeMrkdwn, imageLocation, slackTime } from './slack-text.js';
import type { SlackServices } from './submit-flow.js';

/** How many of the person's latest images the Home tab lists (each with its buttons: Slack allows 100 blocks). */
export const HOME_IMAGES = 10;

const plain = (text: string) => ({ type: 'plain_text' as const, text, emoji: true });
const mrkdwn = (text: string): types.KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text: truncate(text, 3000) } });

/**
 * The App Home tab: the person's quota and budget (what /flux-quota says) and their latest images, each with Reroll and
 * Edit (the same buttons as under the image, so the same checks and charges apply). Published each time they open it.
 */
export function registerAppHome(app: App, svc: SlackServices): void {
  app.event('app_home_opened', async ({ event, body, client }) => {
    if (event.tab !== 'home') return;
    const requester: Requester = { platform: 'slack', guildId: body.team_id, userId: event.user };
    try {
      await client.views.publish({ user_id: event.user, view: await homeView(svc, requester) });
    } catch (err) {
      svc.logger.warn({ err, user: event.user }, 'could not publish the App Home');
    }
  });
}

export async function homeView(svc: SlackServices, requester: Requester): Promise<types.HomeView> {
  const quota = await runQuotaCommand(svc.core.admin, requester, slackTime, svc.core.history);
  const entries = (await svc.core.history.list(requester, HOME_IMAGES)).filter(
    // Only images posted in a conversation, which their buttons can find again; kept ones are in /flux-history.
    (e) => e.record.platform === 'slack' && e.record.via !== 'kept' && /^\d+\.\d+$/.test(e.record.messageId),
  );
  const blocks: types.KnownBlock[] = [
    { type: 'header', text: plain('Your FLUX images') },
    mrkdwn(quota.text),
    { type: 'divider' },
  ];
  if (entries.length === 0) blocks.push(mrkdwn('No images yet. Try `/flux a lighthouse at dawn` in a channel.'));
  for (const { record } of entries) {
    const model = isModelId(record.request.model) ? MODELS[record.request.model].label : record.request.model;
    const count = recordImages(record);
    const ref = recordButtonRef(record);
    const what = count >= 2 ? `${count} images · seeds from ${record.seed}` : `seed ${record.seed}`;
    blocks.push(
      mrkdwn(`*${escapeMrkdwn(truncate(record.request.prompt, 300))}*\n${model} · ${what} · ${imageLocation(record)}`),
      // A gallery: Reroll (the set) and E1…Ek, one actions block of at most 5 buttons.
      count >= 2 ? imageActionsBlock(ref, ['reroll'], galleryButtons('edit', ref, count)) : imageActionsBlock(ref, ['reroll', 'edit']),
    );
  }
  return { type: 'home', blocks };
}
