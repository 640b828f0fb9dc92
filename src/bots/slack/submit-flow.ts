import type { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import { FLUX_OPTIONS } from '../../commands/flux.js';
import { submitText } from '../../commands/replies.js';
import type { Config } from '../../config.js';
import type { FluxbotCore } from '../../core/core.js';
import { MODELS } from '../../core/models.js';
import type { DeliveryTarget, Requester } from '../../core/ports.js';
import type { SubmitResult } from '../../core/queue/generation-service.js';
import { parseFluxRequest, type FluxRequest } from '../../core/request.js';
import { InvalidInput } from '../../core/errors.js';
import type { ImageEntry, SlackFileRef } from './flux-text.js';
import { slackFileImage } from './image-prompt.js';
import { imagesInput, storeSlackFiles } from './reference-files.js';
import { userTextFor } from './slack-errors.js';
import { slackTime, statusHeader, statusText, USAGE } from './slack-text.js';
import type { StatusTracker } from '../shared/status-tracker.js';

/** A status message: where it is and its first line. */
export interface SlackStatus {
  channel: string;
  ts: string;
  header: string;
}

/** What the Slack listeners share: the core, settings, the status board. */
export interface SlackServices {
  core: FluxbotCore;
  config: Config;
  logger: Logger;
  board: StatusTracker<SlackStatus> | undefined;
  botToken: string;
  /** Hosts besides *.slack.com allowed to receive the bot token when downloading files (the configured API host). */
  trustedFileHosts: readonly string[];
}

/** One submission from a person: where it came from and how to answer them privately. */
export interface SubmitCall {
  client: webApi.WebClient;
  requester: Requester;
  channelId: string;
  /** `slack:trigger:<id>` / `slack:view:<id>`: the same delivery is charged once. */
  dedupeKey: string;
  /** Answers the person only (ephemeral). */
  reply: (text: string) => Promise<unknown>;
  /** The thread the status message (and so the image) goes into; default: a new thread under the status message. */
  threadTs?: string | undefined;
}

export type Validated = { ok: true; request: FluxRequest } | { ok: false; field: string | undefined; text: string };

/**
 * Validates request input with the core's schema (and the image prompt file against the model) before any ack.
 * Reference images (`images`) are checked against the model as given: links, and Slack files by their stand-ins.
 */
export function validateRequest(input: Record<string, unknown>, slackFile: SlackFileRef | undefined, config: Config, images?: readonly ImageEntry[]): Validated {
  const withImages = images && images.length > 0 ? { ...input, images: imagesInput(images) } : input;
  const parsed = parseFluxRequest(withImages, { defaultModel: config.FLUX_MODEL });
  if (!parsed.ok) {
    const { field, message } = parsed.error;
    return { ok: false, field, text: field === 'prompt' ? `${sentence(message)}.\n${USAGE}` : `${sentence(message)}.` };
  }
  if (slackFile && !MODELS[parsed.request.model].imagePrompt) {
    return { ok: false, field: 'image_prompt', text: `An image prompt is not supported by ${parsed.request.model}.` };
  }
  return parsed;
}

/**
 * After the ack: fetch and store a Slack-file image prompt, submit (posting the status message that anchors the thread once
 * admitted, before the job is enqueued, since a fast worker may deliver within milliseconds), and show the outcome.
 */
export async function submitRequest(svc: SlackServices, call: SubmitCall, request: FluxRequest, slackFile?: SlackFileRef, images?: readonly ImageEntry[]): Promise<void> {
  const log = svc.logger.child({ user: call.requester.userId, dedupeKey: call.dedupeKey });
  if (images?.some((entry) => 'fileId' in entry)) {
    try {
      const deps = { client: call.client, botToken: svc.botToken, trustedHosts: svc.trustedFileHosts };
      // Stored once with a short expiry, like an image prompt file; the request keeps only the references.
      request = await storeSlackFiles(deps, svc.core.references, request, images, { userId: call.requester.userId, channelId: call.channelId });
    } catch (err) {
      log.info({ err }, 'reference image file refused');
      await call.reply(refusedText(err));
      return;
    }
  }
  if (slackFile) {
    try {
      const deps = { client: call.client, botToken: svc.botToken, trustedHosts: svc.trustedFileHosts };
      const viewer = { userId: call.requester.userId, channelId: call.channelId };
      const image = await slackFileImage(deps, slackFile.fileId, viewer);
      // Stored once with a short expiry; the job, its record and rerolls carry only the reference.
      request = { ...request, image_prompt: await svc.core.inputs.put(image.bytes, image.contentType) };
    } catch (err) {
      log.info({ err }, 'image prompt file refused');
      await call.reply(userTextFor(err));
      return;
    }
  }
  const header = statusHeader(call.requester.userId, request.prompt, false);
  let statusTs: string | undefined;
  try {
    // Posted only once the submission is admitted (the service calls this between admission and enqueue): a
    // refused or duplicate request leaves nothing in the channel.
    const postStatus = async (): Promise<DeliveryTarget> => {
      const thread = call.threadTs === undefined ? {} : { thread_ts: call.threadTs };
      const posted = await call.client.chat.postMessage({ channel: call.channelId, ...thread, text: statusText(header, { kind: 'queued', text: 'Queued…' }) });
      statusTs = posted.ts;
      if (!statusTs) throw new Error('chat.postMessage returned no ts');
      return { platform: 'slack', channelId: call.channelId, threadId: call.threadTs ?? statusTs, statusMessageId: statusTs };
    };
    const result = await svc.core.service.submit(request, call.requester, postStatus, { dedupeKey: call.dedupeKey });
    await settle(svc, call, result, statusTs === undefined ? undefined : { channel: call.channelId, ts: statusTs, header });
  } catch (err) {
    // A reference image refused at admission (a link that is not an image, say) is no failure of the bot.
    if (err instanceof InvalidInput) log.info({ err }, 'submission refused');
    else log.warn({ err }, 'submission failed');
    if (statusTs) await deleteQuietly(call.client, call.channelId, statusTs, log);
    await call.reply(refusedText(err));
  }
}

/** Shows a submission's outcome: queued → on the status message; refused or duplicate → to the person only. */
export async function settle(svc: SlackServices, call: SubmitCall, result: SubmitResult, status: { channel: string; ts: string; header: string } | undefined): Promise<void> {
  const text = submitText(result, slackTime).text;
  if (result.status === 'queued' && status) {
    await svc.board?.track(result.jobId, status, { kind: 'queued', text });
    return;
  }
  await call.reply(text);
}

export async function deleteQuietly(client: webApi.WebClient, channel: string, ts: string, log: Logger): Promise<void> {
  await client.chat.delete({ channel, ts }).catch((err: unknown) => log.warn({ err }, 'could not delete the status message'));
}

/** What the person reads when a submission fails: an invalid input as a sentence, anything else as userTextFor says. */
export function refusedText(err: unknown): string {
  return err instanceof InvalidInput ? `${sentence(err.message.replace(/\.$/, ''))}.` : userTextFor(err);
}

/**
 * The core's messages start with the field name (`steps must be …`): show it as code, else capitalise. `image 2 (…)`
 * names an image, not the option.
 */
function sentence(message: string): string {
  const first = /^[a-z_]+\b(?! \d)/.exec(message)?.[0];
  if (first && FLUX_OPTIONS.some((o) => o.name === first)) return `\`${first}\`${message.slice(first.length)}`;
  return message.charAt(0).toUpperCase() + message.slice(1);
}
