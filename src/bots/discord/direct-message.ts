import { Routes, type APIChannel, type APIMessage, type RawFile, type REST } from 'discord.js';

/**
 * Sends a DM with the bot token: opens (or finds: Discord answers the same channel every time) the DM channel with
 * the person, then posts in it. A person who takes no DMs from the bot (privacy settings, a block, no server shared
 * with it) makes the post fail with 50007; other errors are Discord's as usual. Pass a `nonce` with `enforce_nonce`
 * in `body` to make a repeated send answer the first message instead of posting again.
 */
export async function sendDirectMessage(rest: REST, userId: string, body: Record<string, unknown>, files: RawFile[] = []): Promise<APIMessage> {
  const channel = (await rest.post(Routes.userChannels(), { body: { recipient_id: userId } })) as APIChannel;
  return (await rest.post(Routes.channelMessages(channel.id), { body: { ...body, allowed_mentions: { parse: [] } }, files })) as APIMessage;
}
