import { fail, str, type ApiContext, type ApiResult, type MethodSpec } from './web-api.js';
import { randomId, TRIGGER_LIFETIME_MS, type FakeView } from './workspace.js';

/** views.open and views.update, with Slack's trigger rules: known, exchanged once, within 3 s. */
export function viewMethods(): Record<string, MethodSpec> {
  return {
    'views.open': { token: 'bot', handle: open },
    'views.update': { token: 'bot', handle: update },
  };
}

function open(ctx: ApiContext): ApiResult {
  const triggerId = str(ctx.args, 'trigger_id');
  if (!triggerId) return fail('invalid_arguments', { response_metadata: { messages: ['[ERROR] missing required field: trigger_id'] } });
  const trigger = ctx.ws.triggers.get(triggerId);
  if (!trigger) return fail('invalid_trigger_id');
  if (trigger.exchanged) return fail('exchanged_trigger_id');
  if (Date.now() - trigger.issuedAt > TRIGGER_LIFETIME_MS) return fail('expired_trigger_id');
  const problem = validate(ctx.args.view);
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
  const problem = validate(ctx.args.view);
  if (problem) return fail('invalid_arguments', { response_metadata: { messages: [`[ERROR] ${problem}`] } });
  const next = build(ctx, current.id, ctx.args.view as Record<string, unknown>, current.openedFor);
  next.state = current.state;
  ctx.ws.views.set(current.id, next);
  return { ok: true, view: publicView(next) };
}

/** The subset of Slack's modal rules that catches real mistakes: type, title length, submit with inputs, file counts. */
function validate(view: unknown): string | undefined {
  if (typeof view !== 'object' || view === null || Array.isArray(view)) return 'view must be a JSON object';
  const v = view as Record<string, unknown>;
  if (v.type !== 'modal') return 'view.type must be modal';
  const title = (v.title as { text?: unknown } | undefined)?.text;
  if (typeof title !== 'string' || title.length === 0 || title.length > 24) return 'title must be 1-24 characters';
  if (!Array.isArray(v.blocks)) return 'blocks must be an array';
  if (v.blocks.length > 100) return 'no more than 100 blocks';
  const hasInput = v.blocks.some((b: unknown) => (b as { type?: unknown }).type === 'input');
  if (hasInput && v.submit === undefined) return 'submit is required when a modal has input blocks';
  for (const block of v.blocks as Array<{ element?: { type?: unknown; max_files?: unknown } }>) {
    const element = block.element;
    // file_input takes 1 to 10 files (Slack's limit; the default is 10).
    if (element?.type === 'file_input' && element.max_files !== undefined) {
      const max = element.max_files;
      if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 10) return 'file_input max_files must be between 1 and 10';
    }
  }
  return undefined;
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
