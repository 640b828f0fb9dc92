/**
 * What a user "typed" into a modal, by element action_id: a string, or strings for multi-selects / checkboxes.
 * For a `file_input`, the ids of files the user uploaded (added with `FakeSlack.addFile`).
 */
export type ViewInputs = Record<string, string | string[] | null>;

type Element = Record<string, unknown> & { type?: string; action_id?: string };
type Option = { value?: unknown };
/** Finds an uploaded file's object (as files.info returns it) by id, for `file_input` elements. */
export type FileLookup = (id: string) => unknown;

/**
 * Builds `view.state.values` the way Slack does on submission: every input block's element appears under
 * `[block_id][action_id]`, with `value: null` / `selected_option: null` when left empty. Inputs naming an action_id the
 * view does not have, or an option a select does not offer, throw: the test (or the modal) is wrong.
 */
export function stateValues(
  blocks: Array<Record<string, unknown>>,
  inputs: ViewInputs,
  files: FileLookup = () => undefined,
): Record<string, Record<string, unknown>> {
  const values: Record<string, Record<string, unknown>> = {};
  const unused = new Set(Object.keys(inputs));
  for (const block of blocks) {
    const elements: Element[] =
      block.type === 'input' ? [block.element as Element] : block.type === 'actions' ? ((block.elements as Element[] | undefined) ?? []) : [];
    for (const element of elements) {
      if (!element?.action_id || !element.type) continue;
      if (block.type === 'actions' && !(element.action_id in inputs)) continue;
      unused.delete(element.action_id);
      const blockId = String(block.block_id);
      (values[blockId] ??= {})[element.action_id] = elementState(element, inputs[element.action_id] ?? null, files);
    }
  }
  if (unused.size > 0) throw new Error(`FakeSlack: the view has no input element with action_id ${[...unused].join(', ')}`);
  return values;
}

function elementState(element: Element, input: string | string[] | null, files: FileLookup): Record<string, unknown> {
  const type = element.type as string;
  const one = Array.isArray(input) ? input[0] ?? null : input;
  const many = input === null ? [] : Array.isArray(input) ? input : [input];
  switch (type) {
    case 'static_select':
    case 'radio_buttons':
      return { type, selected_option: one === null ? null : findOption(element, one) };
    case 'multi_static_select':
    case 'checkboxes':
      return { type, selected_options: many.map((v) => findOption(element, v)) };
    case 'users_select':
      return { type, selected_user: one };
    case 'conversations_select':
      return { type, selected_conversation: one };
    case 'channels_select':
      return { type, selected_channel: one };
    case 'file_input': {
      // Slack's client lets a person pick at most `max_files` (default 10).
      const max = typeof element.max_files === 'number' ? element.max_files : 10;
      if (many.length > max) throw new Error(`FakeSlack: ${String(element.action_id)} takes at most ${max} file(s), ${many.length} given`);
      // Slack gives the uploaded files' full objects (with url_private_download), never a plain value.
      return {
        type,
        files: many.map((id) => {
          const file = files(id);
          if (file === undefined) throw new Error(`FakeSlack: no file ${id} for ${String(element.action_id)} (add it with addFile first)`);
          return structuredClone(file);
        }),
      };
    }
    case 'datepicker':
      return { type, selected_date: one };
    default:
      // plain_text_input, number_input, email_text_input, url_text_input and friends carry a string value.
      return { type, value: one };
  }
}

function findOption(element: Element, value: string): unknown {
  const groups = (element.option_groups as Array<{ options?: Option[] }> | undefined) ?? [];
  const options = [...((element.options as Option[] | undefined) ?? []), ...groups.flatMap((g) => g.options ?? [])];
  const option = options.find((o) => o.value === value);
  if (!option) throw new Error(`FakeSlack: ${String(element.action_id)} offers no option with value ${value}`);
  return option;
}
