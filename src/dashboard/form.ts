/**
 * The new-job form, generated from the type's input JSON Schema (`GET /api/job-types`): a field
 * per property with its description — numbers, text, choices (a select; checkboxes for a list of
 * choices), switches, lists of values with add/remove buttons, nested objects as field groups, maps
 * keyed by a set of names (e.g. per-step settings) as one collapsible group per name, and a choice
 * between object shapes (a discriminated union) as a select with the chosen shape's fields. Raw
 * JSON only for what the schema leaves open. Defaults are filled in. The API is the judge: the form
 * sends what was entered, and a 400's issues are shown next to the fields their paths name.
 */
import { api, ApiError } from './api.js';
import { canOperate, type PageContext } from './context.js';
import { h, jobHref, replace, type Child } from './dom.js';
import type { Issue, JobType, JsonSchema } from './types.js';

/**
 * A generated field: its element, how to read its value (undefined: leave the property out), where
 * its errors go, what to focus, and (for groups and lists) the field a path segment names.
 */
interface Field {
  el: HTMLElement;
  read(): unknown;
  errors: HTMLElement;
  control: HTMLElement | null;
  child?(key: string): Field | undefined;
}

/** Thrown by a field that cannot be read (JSON that does not parse): shown at that field. */
class FieldError extends Error {
  constructor(
    readonly field: Field,
    message: string,
  ) {
    super(message);
  }
}

const typeOf = (s: JsonSchema): string | undefined =>
  Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
const idFor = (path: string[]): `field-${string}` => `field-${path.join('-') || 'input'}`;
const isStringy = (s: JsonSchema | undefined): boolean =>
  !!s && (typeOf(s) === 'string' || (!!s.anyOf && s.anyOf.every((b) => typeOf(b) === 'string')));
const isNumeric = (s: JsonSchema | undefined): boolean =>
  !!s && (typeOf(s) === 'integer' || typeOf(s) === 'number');
/** The values of a choice: an enum, or branches that are each one constant. */
const choicesOf = (s: JsonSchema | undefined): unknown[] | null =>
  !s
    ? null
    : (s.enum ??
      (s.anyOf && s.anyOf.length > 0 && s.anyOf.every((b) => b.const !== undefined)
        ? s.anyOf.map((b) => b.const)
        : s.const !== undefined
          ? [s.const]
          : null));
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A nullable schema (`anyOf: [X, {type: 'null'}]`) read as X, keeping the outer description and default. */
function unwrapNullable(schema: JsonSchema): JsonSchema {
  const branches = schema.anyOf ?? schema.oneOf;
  if (!branches) return schema;
  const real = branches.filter((b) => b.type !== 'null');
  if (real.length !== 1 || real.length === branches.length) return schema;
  return {
    ...real[0],
    description: schema.description ?? real[0].description,
    default: schema.default ?? real[0].default,
  };
}

/**
 * A choice between object shapes told apart by one property holding a constant in each (zod's
 * discriminated union: `{ by: 'format' } | { by: 'fixed', label } | …`): that property's name.
 */
function discriminatorOf(schema: JsonSchema): string | null {
  const branches = schema.oneOf ?? schema.anyOf;
  if (!branches || branches.length < 2 || !branches.every((b) => typeOf(b) === 'object' && b.properties))
    return null;
  const first = branches[0].properties!;
  for (const key of Object.keys(first)) {
    const values = branches.map((b) => b.properties?.[key]?.const);
    if (values.every((v) => typeof v === 'string') && new Set(values).size === values.length) return key;
  }
  return null;
}

function hintOf(schema: JsonSchema): string | null {
  const parts: string[] = [];
  if (schema.description) parts.push(schema.description);
  if (schema.minimum !== undefined && schema.maximum !== undefined)
    parts.push(`${schema.minimum}–${schema.maximum}`);
  else if (schema.minimum !== undefined) parts.push(`≥ ${schema.minimum}`);
  else if (schema.maximum !== undefined) parts.push(`≤ ${schema.maximum}`);
  if (schema.minItems !== undefined && schema.maxItems !== undefined)
    parts.push(`${schema.minItems}–${schema.maxItems} entries`);
  else if (schema.minItems) parts.push(`at least ${schema.minItems}`);
  else if (schema.maxItems !== undefined) parts.push(`at most ${schema.maxItems}`);
  return parts.length ? parts.join(' · ') : null;
}

/**
 * The zod messages the API sends, in plain words where their shape is known ("Too big: expected
 * number to be <=50" → "Must be at most 50"); anything else as sent.
 */
export function humanMessage(message: string): string {
  const rules: [RegExp, (m: RegExpExecArray) => string][] = [
    [/^Too big: expected (?:number|int) to be <=?\s*(\S+)$/, (m) => `Must be at most ${m[1]}`],
    [/^Too small: expected (?:number|int) to be >=?\s*(\S+)$/, (m) => `Must be at least ${m[1]}`],
    [/^Too big: expected string to have <=?\s*(\d+) characters?$/, (m) => `At most ${m[1]} characters`],
    [/^Too small: expected string to have >=?\s*1 characters?$/, () => 'Required: may not be empty'],
    [/^Too small: expected string to have >=?\s*(\d+) characters?$/, (m) => `At least ${m[1]} characters`],
    [/^Too big: expected array to have <=?\s*(\d+) items?$/, (m) => `At most ${m[1]} entries`],
    [
      /^Too small: expected array to have >=?\s*(\d+) items?$/,
      (m) => `At least ${m[1]} ${m[1] === '1' ? 'entry' : 'entries'}`,
    ],
    [/^Invalid input: expected \w+, received undefined$/, () => 'Required'],
    [/^Invalid input: expected (int|integer), received number$/, () => 'Must be a whole number'],
    [/^Invalid input: expected (\w+), received (\w+)$/, (m) => `Must be a ${m[1]}, not a ${m[2]}`],
    [/^Invalid string: must match pattern (.+)$/, (m) => `Not in the expected form (pattern ${m[1]})`],
    [/^Unrecognized keys?: (.+)$/, (m) => `Not a known setting: ${m[1]}`],
  ];
  for (const [re, say] of rules) {
    const m = re.exec(message);
    if (m) return say(m);
  }
  return message;
}

/** How a field is labelled and described: shared by every widget. */
interface Frame {
  id: string;
  label: string;
  errors: HTMLElement;
  hintEl: HTMLElement | null;
  describedBy: string;
}

function frameOf(name: string, schema: JsonSchema, idPath: string[], required: boolean): Frame {
  const id = idFor(idPath);
  const hint = hintOf(schema);
  return {
    id,
    label: `${name}${required ? '' : ' (optional)'}`,
    errors: h('div', { class: 'field-errors', id: `${id}-errors`, 'aria-live': 'polite' }),
    hintEl: hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null,
    describedBy: [hint ? `${id}-hint` : null, `${id}-errors`].filter(Boolean).join(' '),
  };
}

/** Row ids of list entries: unique for the page's life, so removing a row never reuses an id. */
let rowSeq = 0;

/**
 * A field for `schema`. `idPath` names its element ids (the property path, with a fresh number per
 * list entry); the API's issue paths find fields through {@link Field.child}, not through ids.
 */
function buildField(name: string, rawSchema: JsonSchema, idPath: string[], required: boolean): Field {
  const schema = unwrapNullable(rawSchema);
  const f = frameOf(name, schema, idPath, required);
  const { id, label, errors, hintEl, describedBy } = f;
  const type = typeOf(schema);
  const choices = choicesOf(schema);
  const union = discriminatorOf(schema);
  const valueSchema = isObject(schema.additionalProperties) ? schema.additionalProperties : null;
  const mapKeys = choicesOf(schema.propertyNames);

  if (type === 'object' && schema.properties) return objectField(f, schema, idPath, required);
  if (type === 'object' && !schema.properties && valueSchema && mapKeys?.every((k) => typeof k === 'string'))
    return mapField(f, mapKeys as string[], valueSchema, idPath, required);
  if (union) return unionField(f, schema, union, idPath, required);
  if (choices) {
    const control = h(
      'select',
      { id, name: idPath.join('.'), 'aria-describedby': describedBy },
      required && schema.default !== undefined ? null : h('option', { value: '' }, '—'),
      choices.map((v, i) => h('option', { value: i, selected: v === schema.default }, String(v))),
    );
    return {
      el: h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl, errors),
      errors,
      control,
      read: () => (control.value === '' ? undefined : choices[Number(control.value)]),
    };
  }
  if (type === 'boolean') {
    const control = h('input', {
      id,
      name: idPath.join('.'),
      type: 'checkbox',
      checked: schema.default === true,
      'aria-describedby': describedBy,
    });
    return {
      el: h('div', { class: 'field check' }, control, h('label', { for: id }, label), hintEl, errors),
      errors,
      control,
      // An optional switch without a default, left off, is left out (the job's own default applies).
      read: () =>
        !control.checked && !required && schema.default === undefined ? undefined : control.checked,
    };
  }
  if (type === 'integer' || type === 'number') {
    const control = h('input', {
      id,
      name: idPath.join('.'),
      type: 'number',
      inputmode: type === 'integer' ? 'numeric' : 'decimal',
      step: type === 'integer' ? 1 : 'any',
      min: schema.minimum ?? null,
      max: schema.maximum ?? null,
      value: typeof schema.default === 'number' ? schema.default : null,
      'aria-describedby': describedBy,
    });
    const field: Field = {
      el: h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl, errors),
      errors,
      control,
      read() {
        const raw = control.value.trim();
        if (raw === '') {
          // A field the browser could not read as a number (e.g. "1e") reports itself empty.
          if (control.validity.badInput) throw new FieldError(field, 'Not a number');
          return undefined;
        }
        return Number(raw);
      },
    };
    return field;
  }
  if (type === 'string' || isStringy(schema)) {
    const control = h('input', {
      id,
      name: idPath.join('.'),
      type: 'text',
      value: typeof schema.default === 'string' ? schema.default : null,
      maxlength: schema.maxLength ?? null,
      'aria-describedby': describedBy,
      autocomplete: 'off',
    });
    return {
      el: h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl, errors),
      errors,
      control,
      read: () => (control.value === '' && !required ? undefined : control.value),
    };
  }
  if (type === 'array' && schema.items) {
    const itemChoices = choicesOf(schema.items);
    if (itemChoices) return choiceListField(f, schema, itemChoices, idPath, required);
    const items = unwrapNullable(schema.items);
    if (
      isStringy(items) ||
      isNumeric(items) ||
      (typeOf(items) === 'object' && items.properties) ||
      discriminatorOf(items)
    )
      return listField(f, schema, name, items, idPath, required);
  }
  return jsonField(f, schema, idPath);
}

/** Nested properties: a field group; an optional group with nothing entered is left out. */
function objectField(f: Frame, schema: JsonSchema, idPath: string[], required: boolean): Field {
  const entries = Object.entries(schema.properties ?? {});
  const defaults = isObject(schema.default) ? schema.default : {};
  const children = new Map(
    entries.map(([key, sub]) => [
      key,
      buildField(
        key,
        // A group's default fills its fields whose own schema has none.
        sub.default === undefined && defaults[key] !== undefined ? { ...sub, default: defaults[key] } : sub,
        [...idPath, key],
        (schema.required ?? []).includes(key),
      ),
    ]),
  );
  return {
    el: h(
      'fieldset',
      { class: 'group wide', 'aria-describedby': f.describedBy },
      h('legend', {}, f.label),
      f.hintEl,
      h(
        'div',
        { class: 'fields' },
        [...children.values()].map((c) => c.el),
      ),
      f.errors,
    ),
    errors: f.errors,
    control: null,
    child: (key) => children.get(key),
    read() {
      const out: Record<string, unknown> = {};
      for (const [key, c] of children) {
        const v = c.read();
        if (v !== undefined) out[key] = v;
      }
      return !required && Object.keys(out).length === 0 && idPath.length > 0 ? undefined : out;
    },
  };
}

/**
 * A map keyed by a known set of names (e.g. settings per step): one collapsible group per name,
 * each holding the value schema's fields; names with nothing entered are left out.
 */
function mapField(
  f: Frame,
  keys: string[],
  valueSchema: JsonSchema,
  idPath: string[],
  required: boolean,
): Field {
  const children = new Map(keys.map((key) => [key, buildField(key, valueSchema, [...idPath, key], false)]));
  return {
    el: h(
      'fieldset',
      { class: 'group wide', 'aria-describedby': f.describedBy },
      h('legend', {}, f.label),
      f.hintEl,
      keys.map((key) => h('details', { class: 'map-entry' }, h('summary', {}, key), children.get(key)!.el)),
      f.errors,
    ),
    errors: f.errors,
    control: null,
    child: (key) => children.get(key),
    read() {
      const out: Record<string, unknown> = {};
      for (const [key, c] of children) {
        const v = c.read();
        if (v !== undefined && !(isObject(v) && Object.keys(v).length === 0)) out[key] = v;
      }
      return Object.keys(out).length === 0 && !required ? undefined : out;
    },
  };
}

/**
 * A choice between object shapes: a select of the discriminator's values (each shape's description
 * shown under it), then the chosen shape's other fields. Switching keeps what was typed in each.
 */
function unionField(f: Frame, schema: JsonSchema, key: string, idPath: string[], required: boolean): Field {
  const branches = (schema.oneOf ?? schema.anyOf)!;
  const values = branches.map((b) => String(b.properties![key].const));
  const initial = isObject(schema.default) ? String(schema.default[key]) : required ? values[0] : '';
  const selectId = idFor([...idPath, key]);
  const shapeHint = h('p', { class: 'hint', id: `${selectId}-hint` });
  const select = h(
    'select',
    { id: selectId, name: [...idPath, key].join('.'), 'aria-describedby': `${selectId}-hint ${f.id}-errors` },
    required ? null : h('option', { value: '' }, '—'),
    values.map((v) => h('option', { value: v, selected: v === initial }, v)),
  );
  const shapes = branches.map((b, i) => {
    const rest = Object.fromEntries(Object.entries(b.properties!).filter(([k]) => k !== key));
    const fields = new Map(
      Object.entries(rest).map(([k, sub]) => [
        k,
        buildField(k, sub, [...idPath, values[i], k], (b.required ?? []).includes(k)),
      ]),
    );
    const el = h(
      'div',
      { class: 'fields', hidden: true },
      [...fields.values()].map((c) => c.el),
    );
    return { value: values[i], description: b.description ?? '', fields, el };
  });
  const active = () => shapes.find((s) => s.value === select.value);
  const show = (): void => {
    for (const s of shapes) s.el.hidden = s !== active();
    shapeHint.textContent = active()?.description ?? '';
  };
  select.addEventListener('change', show);
  show();
  return {
    el: h(
      'fieldset',
      { class: 'group wide', 'aria-describedby': f.describedBy },
      h('legend', {}, f.label),
      f.hintEl,
      h('div', { class: 'field' }, h('label', { for: selectId }, key), select, shapeHint),
      shapes.map((s) => s.el),
      f.errors,
    ),
    errors: f.errors,
    control: select,
    child: (k) => (k === key ? undefined : active()?.fields.get(k)),
    read() {
      const shape = active();
      if (!shape) return undefined;
      const out: Record<string, unknown> = { [key]: shape.value };
      for (const [k, c] of shape.fields) {
        const v = c.read();
        if (v !== undefined) out[k] = v;
      }
      return out;
    },
  };
}

/** A list of choices: a checkbox per choice, read in the schema's order. */
function choiceListField(
  f: Frame,
  schema: JsonSchema,
  choices: unknown[],
  idPath: string[],
  required: boolean,
): Field {
  const chosen = Array.isArray(schema.default) ? schema.default : [];
  const boxes = choices.map((v, i) =>
    h('input', {
      type: 'checkbox',
      id: `${f.id}-${i}`,
      name: idPath.join('.'),
      value: i,
      checked: chosen.includes(v),
    }),
  );
  return {
    el: h(
      'fieldset',
      { class: 'group wide choices', 'aria-describedby': f.describedBy },
      h('legend', {}, f.label),
      f.hintEl,
      h(
        'div',
        { class: 'choice-row' },
        boxes.map((box, i) =>
          h('span', { class: 'check' }, box, h('label', { for: box.id }, String(choices[i]))),
        ),
      ),
      f.errors,
    ),
    errors: f.errors,
    control: boxes[0] ?? null,
    read() {
      const out = choices.filter((_, i) => boxes[i].checked);
      return out.length === 0 && !required ? undefined : out;
    },
  };
}

/**
 * A list of values (text, numbers, objects…): one entry per row, each with a remove button, and an
 * add button. Empty text and number rows are left out when sending; the API's issue paths count
 * the entries sent, so {@link Field.child} maps them back to rows.
 */
function listField(
  f: Frame,
  schema: JsonSchema,
  name: string,
  items: JsonSchema,
  idPath: string[],
  required: boolean,
): Field {
  const scalar = isStringy(items) || isNumeric(items);
  const rows: { field: Field; li: HTMLLIElement; remove: HTMLButtonElement }[] = [];
  let sent: Field[] = [];
  const list = h('ol', { class: 'entries' });
  const add = h('button', { type: 'button', class: 'add' }, `Add ${name}`);

  const renumber = (): void => {
    rows.forEach((r, i) => {
      const labelEl = r.field.el.querySelector('label, legend');
      if (labelEl) labelEl.textContent = `${name} ${i + 1}`;
      r.remove.textContent = 'Remove';
      r.remove.setAttribute('aria-label', `Remove ${name} ${i + 1}`);
    });
    add.disabled = schema.maxItems !== undefined && rows.length >= schema.maxItems;
  };
  const addRow = (value?: unknown, focus = false): void => {
    const itemSchema = value === undefined ? items : { ...items, default: value };
    const field = buildField(`${name} ${rows.length + 1}`, itemSchema, [...idPath, String(++rowSeq)], true);
    const remove = h('button', { type: 'button', class: 'remove' }, 'Remove');
    const li = h('li', { class: scalar ? 'entry scalar' : 'entry' }, field.el, remove);
    const row = { field, li, remove };
    remove.addEventListener('click', () => {
      const at = rows.indexOf(row);
      rows.splice(at, 1);
      li.remove();
      renumber();
      // Focus stays in the list: on the next row's remove button, else on "Add".
      (rows[at]?.remove ?? rows[at - 1]?.remove ?? add).focus();
    });
    rows.push(row);
    list.append(li);
    renumber();
    if (focus) field.control?.focus();
  };
  add.addEventListener('click', () => addRow(undefined, true));
  const initial = Array.isArray(schema.default) ? schema.default : [];
  for (const v of initial) addRow(v);
  if (rows.length === 0 && required) addRow();

  return {
    el: h(
      'fieldset',
      { class: 'group wide list', 'aria-describedby': f.describedBy },
      h('legend', {}, f.label),
      f.hintEl,
      list,
      h('div', { class: 'row' }, add),
      f.errors,
    ),
    errors: f.errors,
    control: add,
    child: (key) => sent[Number(key)],
    read() {
      const out: unknown[] = [];
      sent = [];
      for (const r of rows) {
        const v = r.field.read();
        if (scalar && (v === undefined || v === '')) continue;
        out.push(v);
        sent.push(r.field);
      }
      return out.length === 0 && !required ? undefined : out;
    },
  };
}

/** What the schema leaves open (free-form maps, mixed unions): JSON, checked by the API like everything else. */
function jsonField(f: Frame, schema: JsonSchema, idPath: string[]): Field {
  const control = h('textarea', {
    id: f.id,
    name: idPath.join('.'),
    rows: 3,
    class: 'json',
    'aria-describedby': f.describedBy,
  });
  if (schema.default !== undefined) control.value = JSON.stringify(schema.default);
  const field: Field = {
    el: h(
      'div',
      { class: 'field wide' },
      h('label', { for: f.id }, `${f.label} (JSON)`),
      control,
      f.hintEl,
      f.errors,
    ),
    errors: f.errors,
    control,
    read() {
      const raw = control.value.trim();
      if (raw === '') return undefined;
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        throw new FieldError(field, 'Not valid JSON');
      }
    },
  };
  return field;
}

/** Marks `field` with `message`, opening the collapsed groups around it. */
function showAt(field: Field, message: string): HTMLElement | null {
  field.errors.append(h('p', { class: 'error' }, message));
  field.control?.setAttribute('aria-invalid', 'true');
  for (let d = field.el.closest('details'); d; d = d.parentElement?.closest('details') ?? null) d.open = true;
  return field.control;
}

/**
 * Shows each issue at the deepest field its path names (in words, next to the field's own label;
 * the path when it lands on a group above the field it names); the rest in the form's error list.
 * Returns how many landed at a field.
 */
function showIssues(issues: Issue[], root: Field | null, general: HTMLElement): number {
  const rest: Child[] = [];
  let first: HTMLElement | null = null;
  let placed = 0;
  for (const issue of issues) {
    let path = issue.path.map(String);
    if (path[0] === 'input') path = path.slice(1);
    let field = root;
    let depth = 0;
    while (field && depth < path.length) {
      const next: Field | undefined = field.child?.(path[depth]);
      if (!next) break;
      field = next;
      depth++;
    }
    const words = humanMessage(issue.message);
    if (field && (depth > 0 || path.length === 0) && !(field === root && !root.control)) {
      const where = path.slice(depth).join('.');
      const control = showAt(field, where ? `${where}: ${words}` : words);
      first ??= control;
      placed++;
    } else rest.push(h('li', {}, `${issue.path.join('.') || '(input)'}: ${words}`));
  }
  if (rest.length) {
    general.hidden = false;
    general.append(h('ul', {}, rest));
  }
  first?.focus();
  return placed;
}

export async function renderNewJob(page: HTMLElement, ctx: PageContext): Promise<void> {
  if (!canOperate(ctx)) {
    replace(
      page,
      h('h1', {}, 'New job'),
      h('p', { role: 'alert' }, `Your key's role (${ctx.me.role}) cannot start jobs.`),
    );
    return;
  }
  const types = (await api<JobType[]>('GET', '/api/job-types')).filter((t) => !t.internal);
  const wanted = new URLSearchParams(location.search).get('type');
  const typeSelect = h(
    'select',
    { id: 'job-type', name: 'type' },
    types.map((t) => h('option', { value: t.type, selected: t.type === wanted }, t.type)),
  );
  const description = h('p', { class: 'hint', id: 'job-type-hint' });
  typeSelect.setAttribute('aria-describedby', 'job-type-hint');
  const inputArea = h('div', { class: 'input-fields' });
  const jobIdInput = h('input', {
    id: 'job-id',
    name: 'jobId',
    type: 'text',
    autocomplete: 'off',
    'aria-describedby': 'field-jobId-errors',
  });
  const jobIdErrors = h('div', { class: 'field-errors', id: 'field-jobId-errors' });
  const prioritySelect = h(
    'select',
    { id: 'job-priority', name: 'priority', 'aria-describedby': 'job-priority-hint' },
    [1, 2, 3, 4, 5].map((p) =>
      h(
        'option',
        { value: String(p), selected: p === 3 },
        p === 1 ? '1 (highest)' : p === 3 ? '3 (default)' : p === 5 ? '5 (lowest)' : String(p),
      ),
    ),
  );
  const general = h('div', { class: 'error-box', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Start job');
  let root: Field | null = null;

  const build = (): void => {
    const t = types.find((x) => x.type === typeSelect.value) ?? types[0];
    description.textContent = t?.description ?? '';
    root = t ? buildField('input', t.inputSchema, [], true) : null;
    replace(inputArea, root?.el);
    history.replaceState(null, '', `/new?type=${encodeURIComponent(t?.type ?? '')}`);
  };

  const clearErrors = (): void => {
    general.hidden = true;
    general.replaceChildren();
    for (const el of page.querySelectorAll('.field-errors')) el.replaceChildren();
    for (const el of page.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  };

  const form = h(
    'form',
    { class: 'panel new-job', novalidate: true, 'aria-labelledby': 'new-title' },
    h('div', { class: 'field' }, h('label', { for: 'job-type' }, 'Job type'), typeSelect, description),
    inputArea,
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'job-id' }, 'Job id (optional; starting the same id again is idempotent)'),
      jobIdInput,
      jobIdErrors,
    ),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'job-priority' }, 'Priority'),
      prioritySelect,
      h(
        'p',
        { class: 'hint', id: 'job-priority-hint' },
        'On a busy queue, and in a concurrency limit’s line, higher-priority jobs go first.',
      ),
    ),
    general,
    h('div', { class: 'row' }, submit),
  );

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearErrors();
    let input: unknown;
    try {
      input = root?.read() ?? {};
    } catch (err) {
      if (err instanceof FieldError) {
        showAt(err.field, err.message)?.focus();
        return;
      }
      throw err;
    }
    const body: Record<string, unknown> = { type: typeSelect.value, input };
    if (jobIdInput.value.trim()) body.jobId = jobIdInput.value.trim();
    if (prioritySelect.value !== '3') body.priority = Number(prioritySelect.value);
    submit.disabled = true;
    api<{ jobId: string }>('POST', '/api/jobs', body).then(
      (started) => location.assign(jobHref(started.jobId)),
      (err: unknown) => {
        submit.disabled = false;
        general.hidden = false;
        if (!(err instanceof ApiError) || err.issues.length === 0) {
          general.append(h('p', {}, err instanceof ApiError ? `${err.status}: ${err.message}` : String(err)));
          return;
        }
        const n = err.issues.length;
        general.append(
          h(
            'p',
            {},
            `The job was not started: ${n === 1 ? 'one value needs' : `${n} values need`} a change, ` +
              'shown next to ' +
              (n === 1 ? 'its field.' : 'their fields.'),
          ),
        );
        const jobIdIssues = err.issues.filter((i) => i.path[0] === 'jobId');
        for (const i of jobIdIssues) jobIdErrors.append(h('p', { class: 'error' }, humanMessage(i.message)));
        if (jobIdIssues.length) {
          jobIdInput.setAttribute('aria-invalid', 'true');
          jobIdInput.focus();
        }
        showIssues(
          err.issues.filter((i) => i.path[0] !== 'jobId'),
          root,
          general,
        );
      },
    );
  });
  typeSelect.addEventListener('change', () => {
    clearErrors();
    build();
  });

  replace(page, h('h1', { id: 'new-title' }, 'New job'), form);
  build();
}
