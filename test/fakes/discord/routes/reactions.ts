import { memberJson } from '../payloads.js';
import type { DiscordState } from '../state.js';
import type { FakeChannel, FakeUser } from '../types.js';

export interface ReactionEmoji {
  id: string | null;
  name: string;
}

/** A reaction emoji as it appears in a REST path: a unicode emoji, or `name:id` for a custom one. */
export function parseEmoji(raw: string): ReactionEmoji {
  const custom = /^(?:a:)?([\w~-]+):(\d+)$/.exec(raw);
  return custom ? { id: custom[2]!, name: custom[1]! } : { id: null, name: raw };
}

const sameEmoji = (a: ReactionEmoji, b: ReactionEmoji) => (a.id ?? a.name) === (b.id ?? b.name);

/**
 * Records a reaction on the stored message (when the fake has it) and builds the MESSAGE_REACTION_ADD /
 * REMOVE dispatch body Discord sends, with `member` and `message_author_id`. Returns null when nothing changed.
 */
export function reactionEvent(
  state: DiscordState,
  change: { add: boolean; channel: FakeChannel; messageId: string; user: FakeUser; emoji: ReactionEmoji; burst?: boolean },
): Record<string, unknown> | null {
  const message = state.messages.get(change.messageId);
  if (message && !message.deleted) {
    let reaction = message.reactions.find((r) => sameEmoji(r.emoji, change.emoji));
    if (!reaction) {
      reaction = { emoji: change.emoji, userIds: new Set() };
      message.reactions.push(reaction);
    }
    if (reaction.userIds.has(change.user.id) === change.add) return null;
    if (change.add) reaction.userIds.add(change.user.id);
    else reaction.userIds.delete(change.user.id);
  }
  const member = state.ensureMember(change.channel.guildId, change.user);
  return {
    user_id: change.user.id,
    channel_id: change.channel.id,
    message_id: change.messageId,
    guild_id: change.channel.guildId,
    emoji: change.emoji,
    burst: change.burst ?? false,
    type: change.burst ? 1 : 0,
    ...(change.add
      ? {
          member: memberJson(member),
          burst_colors: [],
          ...(message ? { message_author_id: message.author.id } : {}),
        }
      : {}),
  };
}
