/**
 * Slack's Block Kit limits, checked the way Slack checks them: a message, modal or Home tab breaking one is refused
 * (`invalid_blocks` for messages, `invalid_arguments` for views) with the reason in `response_metadata.messages`.
 * Documented limits: messages ≤ 50 blocks, views ≤ 100; block_id and action_id ≤ 255 and unique (block_id in the
 * surface, action_id in its block); an actions block ≤ 25 elements; button text ≤ 75, value ≤ 2000, url ≤ 3000,
 * style primary|danger; section text ≤ 3000; header ≤ 150; static_select ≤ 100 options, option text ≤ 75 and value
 * ≤ 150, an initial option that is one of them; input label and hint ≤ 2000.
 */
export type Surface = 'message' | 'modal' | 'home';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function textOf(t: unknown): string | undefined {
  return isObj(t) && typeof t.text === 'string' ? t.text : undefined;
}

function checkText(t: unknown, where: string, max: number, plainOnly = false): string | undefined {
  if (!isObj(t) || typeof t.text !== 'string' || (t.type !== 'plain_text' && t.type !== 'mrkdwn')) return `${where} must be a text object`;
  if (plainOnly && t.type !== 'plain_text') return `${where} must be plain_text`;
  if (t.text.length === 0) return `${where} must not be empty`;
  if (t.text.length > max) return `${where} must be at most ${max} characters`;
  return undefined;
}

function checkActionId(e: Obj, where: string, seen: Set<string>): string | undefined {
  if (e.action_id === undefined) return undefined;
  if (typeof e.action_id !== 'string' || e.action_id.length === 0 || e.action_id.length > 255) return `${where}.action_id must be 1-255 characters`;
  if (seen.has(e.action_id)) return `${where}.action_id ${e.action_id} is not unique in its block`;
  seen.add(e.action_id);
  return undefined;
}

function checkElement(e: unknown, where: string, seen: Set<string>): string | undefined {
  if (!isObj(e) || typeof e.type !== 'string') return `${where} must be an element`;
  const id = checkActionId(e, where, seen);
  if (id) return id;
  switch (e.type) {
    case 'button': {
      const text = checkText(e.text, `${where}.text`, 75, true);
      if (text) return text;
      if (e.value !== undefined && (typeof e.value !== 'string' || e.value.length > 2000)) return `${where}.value must be at most 2000 characters`;
      if (e.url !== undefined && (typeof e.url !== 'string' || e.url.length > 3000)) return `${where}.url must be at most 3000 characters`;
      if (e.style !== undefined && e.style !== 'primary' && e.style !== 'danger') return `${where}.style must be primary or danger`;
      return undefined;
    }
    case 'static_select': {
      const options = e.options;
      if (!Array.isArray(options) || options.length === 0 || options.length > 100) return `${where}.options must have 1-100 options`;
      for (const [i, o] of options.entries()) {
        const text = checkText(isObj(o) ? o.text : undefined, `${where}.options[${i}].text`, 75, true);
        if (text) return text;
        if (!isObj(o) || typeof o.value !== 'string' || o.value.length === 0 || o.value.length > 150) return `${where}.options[${i}].value must be 1-150 characters`;
      }
      if (e.initial_option !== undefined) {
        const initial = e.initial_option;
        const match = options.some((o: Obj) => isObj(initial) && o.value === initial.value && textOf(o.text) === textOf(initial.text));
        if (!match) return `${where}.initial_option must be one of its options`;
      }
      return undefined;
    }
    case 'plain_text_input':
      if (e.max_length !== undefined && (typeof e.max_length !== 'number' || e.max_length < 1 || e.max_length > 3000)) return `${where}.max_length must be 1-3000`;
      return undefined;
    case 'file_input':
      if (e.max_files !== undefined && (typeof e.max_files !== 'number' || !Number.isInteger(e.max_files) || e.max_files < 1 || e.max_files > 10)) {
        return 'file_input max_files must be between 1 and 10';
      }
      return undefined;
    default:
      return undefined;
  }
}

function checkBlock(b: unknown, where: string, surface: Surface, blockIds: Set<string>): string | undefined {
  if (!isObj(b) || typeof b.type !== 'string') return `${where} must be a block`;
  if (b.block_id !== undefined) {
    if (typeof b.block_id !== 'string' || b.block_id.length === 0 || b.block_id.length > 255) return `${where}.block_id must be 1-255 characters`;
    if (blockIds.has(b.block_id)) return `${where}.block_id ${b.block_id} is not unique`;
    blockIds.add(b.block_id);
  }
  const actionIds = new Set<string>();
  switch (b.type) {
    case 'section':
      if (b.text !== undefined) return checkText(b.text, `${where}.text`, 3000);
      if (b.fields === undefined) return `${where} needs text or fields`;
      return undefined;
    case 'header':
      return checkText(b.text, `${where}.text`, 150, true);
    case 'divider':
    case 'context':
    case 'image':
      return undefined;
    case 'actions': {
      if (!Array.isArray(b.elements) || b.elements.length === 0 || b.elements.length > 25) return `${where}.elements must have 1-25 elements`;
      for (const [i, e] of b.elements.entries()) {
        const problem = checkElement(e, `${where}.elements[${i}]`, actionIds);
        if (problem) return problem;
      }
      return undefined;
    }
    case 'input': {
      if (surface === 'message') return `${where}: input blocks are for modals and the Home tab`;
      const label = checkText(b.label, `${where}.label`, 2000, true);
      if (label) return label;
      if (b.hint !== undefined) {
        const hint = checkText(b.hint, `${where}.hint`, 2000, true);
        if (hint) return hint;
      }
      return checkElement(b.element, `${where}.element`, actionIds);
    }
    default:
      return undefined;
  }
}

/** The first broken rule of `blocks` on `surface`, or undefined. */
export function checkBlocks(blocks: unknown, surface: Surface): string | undefined {
  if (!Array.isArray(blocks)) return 'blocks must be an array';
  const max = surface === 'message' ? 50 : 100;
  if (blocks.length > max) return `no more than ${max} blocks`;
  const blockIds = new Set<string>();
  for (const [i, b] of blocks.entries()) {
    const problem = checkBlock(b, `blocks[${i}]`, surface, blockIds);
    if (problem) return problem;
  }
  return undefined;
}

/** Slack's rules for a view (`views.open`/`update`/`push`: a modal; `views.publish`: a Home tab). */
export function checkView(view: unknown, surface: 'modal' | 'home'): string | undefined {
  if (!isObj(view)) return 'view must be a JSON object';
  if (view.type !== surface) return `view.type must be ${surface}`;
  if (surface === 'modal') {
    const title = textOf(view.title);
    if (title === undefined || title.length === 0 || title.length > 24) return 'title must be 1-24 characters';
    for (const key of ['submit', 'close'] as const) {
      const text = view[key] === undefined ? undefined : textOf(view[key]);
      if (view[key] !== undefined && (text === undefined || text.length === 0 || text.length > 24)) return `${key} must be 1-24 characters`;
    }
  }
  if (typeof view.private_metadata === 'string' && view.private_metadata.length > 3000) return 'private_metadata must be at most 3000 characters';
  if (typeof view.callback_id === 'string' && view.callback_id.length > 255) return 'callback_id must be at most 255 characters';
  const problem = checkBlocks(view.blocks, surface);
  if (problem) return problem;
  const hasInput = (view.blocks as unknown[]).some((b) => isObj(b) && b.type === 'input');
  if (surface === 'modal' && hasInput && view.submit === undefined) return 'submit is required when a modal has input blocks';
  return undefined;
}
