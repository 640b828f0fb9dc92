import type { App, RespondFn, SlashCommand } from '@slack/bolt';
import { runAdminCommand, runQuotaCommand, fluxAdminCommand } from '../../commands/flux-admin.js';
import { fluxCommand, fluxQuotaCommand } from '../../commands/flux.js';
import { fluxHistoryCommand } from '../../commands/flux-history.js';
import type { Requester } from '../../core/ports.js';
import { adminUsage, parseAdminText } from './admin-text.js';
import { fluxModal } from './flux-modal.js';
import { parseFluxText } from './flux-text.js';
import { historyText } from './history-command.js';
import { userTextFor } from './slack-errors.js';
import { slackTime } from './slack-text.js';
import { submitRequest, validateRequest, type SlackServices } from './submit-flow.js';

export function requesterOf(command: Pick<SlashCommand, 'team_id' | 'user_id' | 'user_name'>): Requester {
  return { platform: 'slack', guildId: command.team_id, userId: command.user_id, displayName: command.user_name };
}

const ephemeral = (respond: RespondFn) => (text: string) => respond({ response_type: 'ephemeral', text });

/**
 * The slash commands, named after the platform-neutral definitions. Each acks within Slack's 3 s before any Redis,
 * provider or slow Web API call; input that cannot be valid is refused in the ack itself, so nothing is enqueued.
 */
export function registerCommands(app: App, svc: SlackServices): void {
  app.command(`/${fluxCommand.name}`, async ({ command, ack, respond, client }) => {
    const parsed = parseFluxText(command.text);
    if (parsed.kind === 'error') return void (await ack({ response_type: 'ephemeral', text: parsed.text }));
    if (parsed.kind === 'help') {
      await ack();
      try {
        await client.views.open({ trigger_id: command.trigger_id, view: fluxModal(command.channel_id) });
      } catch (err) {
        svc.logger.warn({ err }, 'could not open the /flux modal');
        await ephemeral(respond)(userTextFor(err));
      }
      return;
    }
    const valid = validateRequest(parsed.input, parsed.slackFile, svc.config, parsed.images);
    if (!valid.ok) return void (await ack({ response_type: 'ephemeral', text: valid.text }));
    await ack();
    const call = {
      client,
      requester: requesterOf(command),
      channelId: command.channel_id,
      dedupeKey: `slack:trigger:${command.trigger_id}`,
      reply: ephemeral(respond),
    };
    await submitRequest(svc, call, valid.request, parsed.slackFile, parsed.images);
  });

  app.command(`/${fluxQuotaCommand.name}`, async ({ command, ack, respond }) => {
    await ack();
    try {
      const reply = await runQuotaCommand(svc.core.admin, requesterOf(command), slackTime, svc.core.history);
      await ephemeral(respond)(reply.text);
    } catch (err) {
      svc.logger.warn({ err }, '/flux-quota failed');
      await ephemeral(respond)(userTextFor(err));
    }
  });

  app.command(`/${fluxHistoryCommand.name}`, async ({ command, ack, respond, client }) => {
    await ack();
    try {
      await ephemeral(respond)(await historyText(svc.core.history, client, requesterOf(command), svc.logger));
    } catch (err) {
      svc.logger.warn({ err }, '/flux-history failed');
      await ephemeral(respond)(userTextFor(err));
    }
  });

  app.command(`/${fluxAdminCommand.name}`, async ({ command, ack, respond, client }) => {
    await ack();
    const reply = ephemeral(respond);
    try {
      // Checked on every call, on the server side: the allow-list, else Slack's own admin/owner flags.
      const isAdmin = await isWorkspaceAdmin(client, svc.config.SLACK_ADMIN_USER_IDS, command.user_id);
      const actor = requesterOf(command);
      if (!isAdmin) return void (await reply((await runAdminCommand({ admin: svc.core.admin, actor, isAdmin }, { subcommand: 'show' })).text));
      if (command.text.trim() === '' || /^help$/i.test(command.text.trim())) return void (await reply(adminUsage()));
      const parsed = parseAdminText(command.text);
      if (!parsed.ok) return void (await reply(parsed.text));
      const result = await runAdminCommand({ admin: svc.core.admin, actor, isAdmin, time: slackTime }, parsed.input);
      svc.logger.info({ actor: command.user_id, subcommand: parsed.input.subcommand, target: parsed.input.user ?? 'workspace' }, 'admin command');
      await reply(result.text);
    } catch (err) {
      svc.logger.warn({ err }, '/flux-admin failed');
      await reply(userTextFor(err));
    }
  });
}

/** SLACK_ADMIN_USER_IDS, or a workspace admin/owner by users.info. Fails closed when Slack cannot say. */
export async function isWorkspaceAdmin(client: App['client'], allowList: readonly string[], userId: string): Promise<boolean> {
  if (allowList.includes(userId)) return true;
  try {
    const { user } = await client.users.info({ user: userId });
    return user?.is_admin === true || user?.is_owner === true || user?.is_primary_owner === true;
  } catch {
    return false;
  }
}
