import type { webApi } from '@slack/bolt';
import { openDirectMessage } from './slack-uploads.js';

/**
 * Tells one person something only they may see: an ephemeral message where they are (in the thread when given), else,
 * when Slack refuses that (they are not a member of the channel, the channel is archived), a direct message. Never a
 * public message: a refusal can name a ban reason.
 */
export async function replyPrivately(client: webApi.WebClient, to: { channel: string; user: string; threadTs?: string | undefined }, text: string): Promise<void> {
  try {
    await client.chat.postEphemeral({ channel: to.channel, user: to.user, ...(to.threadTs === undefined ? {} : { thread_ts: to.threadTs }), text });
  } catch {
    const dm = await openDirectMessage(client, to.user);
    await client.chat.postMessage({ channel: dm, text });
  }
}
