import { formError, type ApiError } from './rules.js';

/**
 * Discord's rules for message components and modals, as its API refuses them (400, code 50035, the error tree nested
 * by field path). Messages: ≤ 5 action rows (type 1) of ≤ 5 buttons (type 2) or one string select (type 3); a button has a style 1–5, a label of
 * ≤ 80 characters (or an emoji), and a `custom_id` of 1–100 characters unique in the message (a link button, style 5,
 * has a `url` instead). Modals: a `custom_id` of 1–100 characters, a title of 1–45, 1–5 action rows of one text input
 * (type 4) each, whose label is 1–45 characters, style 1 or 2, `custom_id` 1–100, lengths within 0–4000.
 */

const ACTION_ROW = 1;
const BUTTON = 2;
const STRING_SELECT = 3;
const TEXT_INPUT = 4;
const LINK = 5;

type Path = Array<string | number>;
type Fail = (path: Path, code: string, message: string) => ApiError;

const badLength = (fail: Fail, path: Path, min: number, max: number) => fail(path, 'BASE_TYPE_BAD_LENGTH', `Must be between ${min} and ${max} in length.`);

function lengthWithin(value: unknown, min: number, max: number): boolean {
  return typeof value === 'string' && [...value].length >= min && [...value].length <= max;
}

/** The components of a message body (create or edit), or null when they pass. */
export function checkMessageComponents(raw: unknown): ApiError | null {
  if (raw === undefined || raw === null) return null;
  if (!Array.isArray(raw)) return formError(['components'], 'BASE_TYPE_ARRAY', 'Must be an array.');
  if (raw.length > 5) return formError(['components'], 'BASE_TYPE_MAX_LENGTH', 'Must be 5 or fewer in length.');
  const ids = new Set<string>();
  for (const [i, row] of (raw as Array<Record<string, unknown>>).entries()) {
    const at: Fail = (path, code, message) => formError(['components', i, ...path], code, message);
    if (row?.type !== ACTION_ROW) return at(['type'], 'UNION_TYPE_CHOICES', 'Value of field "type" must be one of (1,).');
    const children = row.components;
    if (!Array.isArray(children) || children.length < 1 || children.length > 5) return badLength(at, ['components'], 1, 5);
    if ((children[0] as { type?: unknown }).type === STRING_SELECT) {
      if (children.length !== 1) return badLength(at, ['components'], 1, 1);
      const problem = checkSelect(children[0] as Record<string, unknown>, (path, code, message) => at(['components', 0, ...path], code, message));
      if (problem) return problem;
      const id = (children[0] as { custom_id: string }).custom_id;
      if (ids.has(id)) return at(['components', 0, 'custom_id'], 'COMPONENT_CUSTOM_ID_DUPLICATED', 'Component custom id cannot be duplicated');
      ids.add(id);
      continue;
    }
    for (const [j, button] of (children as Array<Record<string, unknown>>).entries()) {
      const atButton: Fail = (path, code, message) => at(['components', j, ...path], code, message);
      if (button?.type !== BUTTON) return atButton(['type'], 'UNION_TYPE_CHOICES', 'Value of field "type" must be one of (2,).');
      const style = button.style;
      if (typeof style !== 'number' || style < 1 || style > 5) return atButton(['style'], 'BASE_TYPE_CHOICES', 'Value must be one of {1, 2, 3, 4, 5}.');
      if (button.label !== undefined && !lengthWithin(button.label, 0, 80)) return badLength(atButton, ['label'], 0, 80);
      if (button.label === undefined && button.emoji === undefined) return atButton(['label'], 'BASE_TYPE_REQUIRED', 'This field is required');
      if (style === LINK) {
        if (typeof button.url !== 'string' || button.custom_id !== undefined) return atButton(['url'], 'BUTTON_COMPONENT_INVALID_URL', 'A link button needs a url and no custom_id.');
        continue;
      }
      if (!lengthWithin(button.custom_id, 1, 100)) return badLength(atButton, ['custom_id'], 1, 100);
      const id = button.custom_id as string;
      if (ids.has(id)) return atButton(['custom_id'], 'COMPONENT_CUSTOM_ID_DUPLICATED', 'Component custom id cannot be duplicated');
      ids.add(id);
    }
  }
  return null;
}

/**
 * A string select (alone in its row): `custom_id` 1–100, 1–25 options with a label and value of 1–100 characters each
 * (values unique), a placeholder ≤ 150, `min_values` 0–25 and `max_values` 1–25 within the options.
 */
function checkSelect(select: Record<string, unknown>, at: Fail): ApiError | null {
  if (!lengthWithin(select.custom_id, 1, 100)) return badLength(at, ['custom_id'], 1, 100);
  if (select.placeholder !== undefined && !lengthWithin(select.placeholder, 0, 150)) return badLength(at, ['placeholder'], 0, 150);
  const options = select.options;
  if (!Array.isArray(options) || options.length < 1 || options.length > 25) return badLength(at, ['options'], 1, 25);
  const values = new Set<string>();
  for (const [k, option] of (options as Array<Record<string, unknown>>).entries()) {
    if (!lengthWithin(option?.label, 1, 100)) return badLength(at, ['options', k, 'label'], 1, 100);
    if (!lengthWithin(option?.value, 1, 100)) return badLength(at, ['options', k, 'value'], 1, 100);
    if (values.has(option.value as string)) return at(['options', k, 'value'], 'SELECT_COMPONENT_OPTION_VALUE_DUPLICATED', 'Select component option values cannot be duplicated');
    values.add(option.value as string);
  }
  const min = select.min_values ?? 1;
  const max = select.max_values ?? 1;
  if (typeof min !== 'number' || min < 0 || min > 25) return at(['min_values'], 'NUMBER_TYPE_MAX', 'int value should be between 0 and 25.');
  if (typeof max !== 'number' || max < 1 || max > 25 || max < min || max > options.length) return at(['max_values'], 'NUMBER_TYPE_MAX', 'int value should be between 1 and the number of options.');
  return null;
}

/** The string selects of a stored message: custom id, option values, and how many may be chosen. */
export function selectsOf(components: unknown[]): Array<{ customId: string; values: string[]; min: number; max: number; disabled: boolean }> {
  return (components as Array<{ components?: Array<Record<string, unknown>> }>).flatMap((row) =>
    (row.components ?? [])
      .filter((c) => c.type === STRING_SELECT && typeof c.custom_id === 'string')
      .map((c) => ({
        customId: c.custom_id as string,
        values: ((c.options as Array<{ value: string }> | undefined) ?? []).map((o) => o.value),
        min: typeof c.min_values === 'number' ? c.min_values : 1,
        max: typeof c.max_values === 'number' ? c.max_values : 1,
        disabled: c.disabled === true,
      })),
  );
}

/** A modal, as stored once the callback (type 9) passed the checks. */
export interface FakeModal {
  customId: string;
  title: string;
  inputs: Array<{ customId: string; label: string; style: number; required: boolean; minLength: number; maxLength: number; value?: string }>;
}

/** The `data` of a MODAL callback: the modal, or Discord's 400. */
export function checkModal(raw: unknown): FakeModal | ApiError {
  const data = (raw ?? {}) as Record<string, unknown>;
  const at: Fail = (path, code, message) => formError(['data', ...path], code, message);
  if (!lengthWithin(data.custom_id, 1, 100)) return badLength(at, ['custom_id'], 1, 100);
  if (!lengthWithin(data.title, 1, 45)) return badLength(at, ['title'], 1, 45);
  const rows = data.components;
  if (!Array.isArray(rows) || rows.length < 1 || rows.length > 5) return badLength(at, ['components'], 1, 5);
  const inputs: FakeModal['inputs'] = [];
  const ids = new Set<string>();
  for (const [i, row] of (rows as Array<Record<string, unknown>>).entries()) {
    const atRow: Fail = (path, code, message) => at(['components', i, ...path], code, message);
    if (row?.type !== ACTION_ROW) return atRow(['type'], 'UNION_TYPE_CHOICES', 'Value of field "type" must be one of (1,).');
    const children = row.components;
    if (!Array.isArray(children) || children.length !== 1) return badLength(atRow, ['components'], 1, 1);
    const input = children[0] as Record<string, unknown>;
    const atInput: Fail = (path, code, message) => atRow(['components', 0, ...path], code, message);
    if (input?.type !== TEXT_INPUT) return atInput(['type'], 'UNION_TYPE_CHOICES', 'Value of field "type" must be one of (4,).');
    if (!lengthWithin(input.custom_id, 1, 100)) return badLength(atInput, ['custom_id'], 1, 100);
    if (ids.has(input.custom_id as string)) return atInput(['custom_id'], 'COMPONENT_CUSTOM_ID_DUPLICATED', 'Component custom id cannot be duplicated');
    ids.add(input.custom_id as string);
    if (!lengthWithin(input.label, 1, 45)) return badLength(atInput, ['label'], 1, 45);
    if (input.style !== 1 && input.style !== 2) return atInput(['style'], 'BASE_TYPE_CHOICES', 'Value must be one of {1, 2}.');
    const minLength = input.min_length ?? 0;
    const maxLength = input.max_length ?? 4000;
    if (typeof minLength !== 'number' || minLength < 0 || minLength > 4000) return atInput(['min_length'], 'NUMBER_TYPE_MAX', 'int value should be between 0 and 4000.');
    if (typeof maxLength !== 'number' || maxLength < 1 || maxLength > 4000) return atInput(['max_length'], 'NUMBER_TYPE_MAX', 'int value should be between 1 and 4000.');
    if (input.placeholder !== undefined && !lengthWithin(input.placeholder, 0, 100)) return badLength(atInput, ['placeholder'], 0, 100);
    if (input.value !== undefined && !lengthWithin(input.value, 0, 4000)) return badLength(atInput, ['value'], 0, 4000);
    inputs.push({
      customId: input.custom_id as string,
      label: input.label as string,
      style: input.style,
      required: input.required !== false,
      minLength,
      maxLength,
      ...(typeof input.value === 'string' ? { value: input.value } : {}),
    });
  }
  return { customId: data.custom_id as string, title: data.title as string, inputs };
}

/** The buttons of a stored message (custom id → label), as Discord's client shows them. */
export function buttonsOf(components: unknown[]): Array<{ customId: string; label: string | undefined; disabled: boolean }> {
  return (components as Array<{ components?: Array<Record<string, unknown>> }>).flatMap((row) =>
    (row.components ?? [])
      .filter((c) => c.type === BUTTON && typeof c.custom_id === 'string')
      .map((c) => ({ customId: c.custom_id as string, label: typeof c.label === 'string' ? c.label : undefined, disabled: c.disabled === true })),
  );
}
