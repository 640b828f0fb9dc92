import { checkView } from './block-rules.js';
import { fail, str, type ApiContext, type ApiResult, type MethodSpec } from './web-api.js';
import { randomId, TRIGGER_LIFETIME_MS, type FakeView } from './workspace.js';

/** views.open, views.update (Slack's trigger rules: known, exchanged once, within 3 s) and views.publish (Home tabs). */
export function viewMethods(): Record<string, MethodSpec> {
  return {
    'views.open': { token: 'bot', handle: open },
    'views.update': { token: 'bot', handle: update },
    'views.publish': { token: 'bot', handle: publish },
  };
}

/** views.publish: a Home tab for one user (`user_id` must exist), replacing the one they had. */
function publish(ctx: ApiContext): ApiResult {
  const user = str(ctx.args, 'user_id');
  if (!user) return fail('invalid_arguments', { response_metadata: { messages: ['[ERROR] missing required field: user_id'] } });
  if (!ctx.ws.users.has(user)) return fail('user_not_found');
  const problem = checkView(ctx.args.view, 'home');
  if (problem) return fail('invalid_arguments', { response_metadata: { messages: [`[ERROR] ${problem}`] } });
  const current = ctx.ws.homes.get(user);
  const hash = str(ctx.args, 'hash');
  if (hash !== undefined && current && hash !== current.hash) return fail('hash_conflict');
  const id = current?.id ?? randomId('V');
  const view = { ...build(ctx, id, ctx.args.view as Record<string, unknown>, user), type: 'home' };
  ctx.ws.homes.set(user, view);
  return { ok: true, view: publicView(view) };
}

function open(ctx: ApiContext): ApiResult {
  const triggerId = str(ctx.args, 'trigger_id');
  if (!triggerId) return fail('invalid_arguments', { response_metadata: { messages: ['[ERROR] missing required field: trigger_id'] } });
  const trigger = ctx.ws.triggers.get(triggerId);
  if (!trigger) return fail('invalid_trigger_id');
  if (trigger.exchanged) return fail('exchanged_trigger_id');
  if (Date.now() - trigger.issuedAt > TRIGGER_LIFETIME_MS) return fail('expired_trigger_id');
  const problem = checkView(ctx.args.view, 'modal');
  if (problem) return fail('invalid_arguments', { response_metadata: { messages: [`[ERROR] ${problem}`] } });
  trigger.exchanged = true;
  const id = randomId('V');
  const view = build(ctx, id, ctx.args.view as Record<string, unknown>, trigger.user);
  ctx.ws.views.set(id, view);
  return { ok: true, view: publicView(view) };
}

function update(ctx: ApiContext): ApiResult {
  const viewId = str(ctx.args, 'view_id');
  const externalId = str(ctx.args, 'external_id');
  const current = viewId ? ctx.ws.views.get(viewId) : [...ctx.ws.views.values()].find((v) => externalId && v.external_id === externalId);
  if (!current) return fail('not_found');
  const hash = str(ctx.args, 'hash');
  if (hash !== undefined && hash !== current.hash) return fail('hash_conflict');
  const problem = checkView(ctx.args.view, 'modal');
  if (problem) return fail('invalid_arguments', { response_metadata: { messages: [`[ERROR] ${problem}`] } });
  const next = build(ctx, current.id, ctx.args.view as Record<string, unknown>, current.openedFor);
  next.state = current.state;
  ctx.ws.views.set(current.id, next);
  return { ok: true, view: publicView(next) };
}

function build(ctx: ApiContext, id: string, view: Record<string, unknown>, openedFor: string): FakeView {
  // Slack gives every block without a block_id a random one; code must not assume otherwise.
  const blocks = (view.blocks as Array<Record<string, unknown>>).map((b) => ({ ...b, block_id: b.block_id ?? randomId('', 5).toLowerCase() }));
  return {
    id,
    team_id: ctx.ws.teamId,
    type: 'modal',
    callback_id: typeof view.callback_id === 'string' ? view.callback_id : '',
    private_metadata: typeof view.private_metadata === 'string' ? view.private_metadata : '',
    external_id: typeof view.external_id === 'string' ? view.external_id : '',
    title: view.title,
    submit: view.submit,
    close: view.close,
    blocks,
    state: { values: {} },
    hash: `${Math.floor(Date.now() / 1000)}.${randomId('', 8).toLowerCase()}`,
    root_view_id: id,
    previous_view_id: null,
    app_id: ctx.config.appId,
    bot_id: ctx.config.botId,
    clear_on_close: view.clear_on_close === true,
    notify_on_close: view.notify_on_close === true,
    openedFor,
  };
}

/** The view as Slack returns and delivers it (without the fake's own bookkeeping). */
export function publicView(view: FakeView): Record<string, unknown> {
  const { openedFor: _openedFor, ...rest } = view;
  return structuredClone(rest);
}
