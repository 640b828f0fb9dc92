import { formatUsd } from '../../core/prices.js';
import type { CommandOption } from '../../commands/definition.js';
import type { TimeFormatter } from '../../commands/replies.js';
import { MODELS, isModelId } from '../../core/models.js';
import { truncate } from '../../core/text.js';
import type { StatusState } from '../shared/status-tracker.js';

/**
 * Slack-specific wording and markup (mrkdwn, `<!date>` times, `<@U>` mentions). Platform-neutral sentences come from
 * src/commands/replies.ts; this file only adds what exists on Slack alone (key:value help, status lines in mrkdwn).
 */

/** Slack renders `<!date^…>` in the reader's own time zone, with a plain fallback for old clients. */
export const slackTime: TimeFormatter = (ms) => {
  const sec = Math.floor(ms / 1000);
  const fallback = `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!date^${sec}^{date_short_pretty} at {time}|${fallback}>`;
};

/** Escapes text for mrkdwn so a prompt can never ping `<!channel>` or forge a link. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** What a `key:value` option accepts, for error messages and help. */
export function describeValues(option: CommandOption): string {
  if (option.choices) return `one of ${option.choices.join(', ')}`;
  switch (option.type) {
    case 'integer':
      return `a whole number from ${option.min ?? '…'} to ${option.max ?? '…'}`;
    case 'number':
      return `a number from ${option.min ?? '…'} to ${option.max ?? '…'}`;
    case 'boolean':
      return 'true or false';
    case 'attachment':
      if (option.name.startsWith('image') && option.name !== 'image_prompt') {
        return 'an https link to an image, or a Slack file id (F…) of a PNG, JPEG, WebP or GIF up to 10 MB; repeat it for more images, in order';
      }
      return 'an https link to an image, or a Slack file id (F…) of a PNG, JPEG or WebP up to 10 MB';
    default:
      return option.name.endsWith('_url') ? 'an https link to an image' : 'text';
  }
}

/** The `/flux help`-style listing of every option, generated from the command definition. */
export function optionsHelp(options: readonly CommandOption[]): string {
  return options
    .filter((o) => o.name !== 'prompt')
    .map((o) => `• \`${o.name}:\` ${o.description} — ${describeValues(o)}`)
    .join('\n');
}

export const USAGE = 'Usage: `/flux <prompt> [key:value …]`, e.g. `/flux a lighthouse at dawn aspect_ratio:16:9 seed:42`. Put values with spaces in quotes. `/flux` alone opens a form.';

export function unknownOptionText(key: string, options: readonly CommandOption[]): string {
  const keys = options.filter((o) => o.name !== 'prompt').map((o) => `\`${o.name}\``);
  return `Unknown option \`${key}\`. Valid options: ${keys.join(', ')}.\n${USAGE}`;
}

export function badValueText(option: CommandOption, detail?: string): string {
  return `${detail ? `${detail}. ` : ''}\`${option.name}\` must be ${describeValues(option)}.`;
}

export const NOT_IN_CHANNEL_TEXT = 'I can’t post in this channel. Invite me with `/invite @fluxbot` (or use a public channel) and try again.';
export const MODAL_TITLE = 'Generate with FLUX';
export const ADMIN_USAGE_PREFIX = 'Usage: `/flux-admin <subcommand> [<@member>|server] …`';

/** The first line of a status message: who asked for what. */
export function statusHeader(userId: string, prompt: string, reroll: boolean): string {
  return `${reroll ? ':arrows_counterclockwise:' : ':frame_with_picture:'} <@${userId}>${reroll ? ' rerolled' : ''}: _${escapeMrkdwn(truncate(prompt, 200))}_`;
}

/** A status line in mrkdwn. */
export function statusLine(state: StatusState): string {
  switch (state.kind) {
    case 'submitting':
      return ':hourglass_flowing_sand: Submitting…';
    case 'queued':
      return `:hourglass_flowing_sand: ${state.text}`;
    case 'generating':
      return state.queuePosition !== undefined && state.queuePosition > 0
        ? `:art: Waiting at the image service (position ${state.queuePosition})…`
        : ':art: Generating…';
    case 'delivering':
      return ':outbox_tray: Uploading…';
    case 'retrying':
      return `:repeat: The image service is busy; trying again in ${Math.max(1, Math.round(state.delayMs / 1000))} s…`;
    case 'done':
      return ':white_check_mark: Done — the image is in the thread. Use its buttons (or react :arrows_counterclockwise:) for another take.';
    case 'failed':
      return ':x: No image this time — the reason is in the thread.';
  }
}

export type { StatusState };

export function statusText(header: string, state: StatusState, via?: 'private' | 'kept'): string {
  // A done image the channel refused went elsewhere: say where (the worker and the bot's tracker both write this).
  if (state.kind === 'done' && via === 'private') return `${header}\n${STATUS_SENT_PRIVATELY}`;
  if (state.kind === 'done' && via === 'kept') return `${header}\n${STATUS_KEPT}`;
  return `${header}\n${statusLine(state)}`;
}

/** The comment posted with the image: prompt, model, seed, size, time, who asked. */
export function imageCaption(d: {
  prompt: string;
  model: string;
  seed: number;
  width: number;
  height: number;
  generationMs: number;
  userId: string;
  provider: string;
  reroll: boolean;
  /** What it cost (a gallery: all its images), micro-dollars; shown when known. */
  costMicros?: number | undefined;
  /** A gallery's seeds, in order (shown instead of `seed`). */
  seeds?: readonly number[];
  /** A gallery: how many images are shown of how many asked, and why some are missing. */
  gallery?: { shown: number; asked: number; shortfall?: string };
}): string {
  const model = isModelId(d.model) ? MODELS[d.model].label : d.model;
  const seconds = (d.generationMs / 1000).toFixed(1);
  const cost = d.costMicros === undefined ? '' : ` · ${formatUsd(d.costMicros)}${d.gallery ? ' in all' : ''}`;
  const seed = d.seeds && d.seeds.length > 1 ? `seeds ${d.seeds.join(', ')}` : `seed ${d.seed}`;
  const lines = [
    `*${escapeMrkdwn(truncate(d.prompt, 2500))}*`,
    `${model} · ${seed} · ${d.width}×${d.height} · ${seconds} s${cost} · ${d.reroll ? 'rerolled' : 'requested'} by <@${d.userId}>`,
  ];
  if (d.gallery) {
    const { shown, asked, shortfall } = d.gallery;
    lines.push(`${shown} of ${asked} images${shortfall ? ` — ${escapeMrkdwn(truncate(shortfall, 300))}` : ''}`);
  }
  // The preview provider draws placeholders offline; they must never pass for FLUX output.
  if (d.provider === 'preview') lines.push('_Preview placeholder drawn locally — not FLUX output._');
  return lines.join('\n');
}

export function failureText(userId: string, reason: string): string {
  return `<@${userId}> no image this time: ${escapeMrkdwn(reason)}`;
}

/** Why an image came by direct message: the line added under its caption. */
export function privateImageNote(channelId: string, reason: string): string {
  const why =
    reason === 'is_archived'
      ? `<#${channelId}> is archived`
      : reason === 'not_in_channel'
        ? `I am no longer a member of <#${channelId}>`
        : reason === 'channel_not_found'
          ? 'the channel you asked in no longer exists'
          : `<#${channelId}> would not take it`;
  return `_You get this image here because ${why}._`;
}

/** Final status lines when the image did not go into the thread (the status message may be unreachable too). */
export const STATUS_SENT_PRIVATELY = ':envelope_with_arrow: The image could not be posted here, so it was sent to you in a direct message.';
export const STATUS_KEPT = ':inbox_tray: The image could not be posted here or sent to you, so it is kept for you: use `/flux-history` to get it.';

/** `/flux-history`: where the kept images went, added under the shared history text. */
export function keptHandedOverText(count: number): string {
  return `I sent ${count === 1 ? 'the kept image' : `the ${count} kept images`} to our direct messages (fluxbot → Messages).`;
}
export const KEPT_NOT_HANDED_OVER_TEXT = 'I could not send the kept images to you in a direct message right now; please try `/flux-history` again later.';
/** The comment a kept image carries when `/flux-history` hands it over. */
export const KEPT_IMAGE_COMMENT = 'An image kept for you (the channel you asked in could not take it).';

/** Where a posted image is, for `/flux-history`: the channel, and a link to the message when its ts is known. */
export function imageLocation(record: { channelId: string; messageId: string; threadId?: string | undefined }): string {
  const channel = `<#${record.channelId}>`;
  if (!/^\d+\.\d+$/.test(record.messageId)) return `posted in ${channel}`;
  const thread = record.threadId && record.threadId !== record.messageId ? `?thread_ts=${record.threadId}&cid=${record.channelId}` : '';
  return `posted in ${channel} (<https://slack.com/archives/${record.channelId}/p${record.messageId.replace('.', '')}${thread}|open>)`;
}
