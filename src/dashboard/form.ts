/**
 * The new-job form, generated from the type's input JSON Schema (`GET /api/job-types`): a field
 * per property (numbers, text, choices, switches; nested objects as field groups; lists and
 * anything richer as JSON), defaults filled in. The API is the judge: the form sends what was
 * entered, and a 400's issue paths are shown next to the fields they name.
 */
import { api, ApiError } from './api.js';
import { canOperate, type PageContext } from './context.js';
import { h, jobHref, replace, type Child } from './dom.js';
import type { Issue, JobType, JsonSchema } from './types.js';

/** A generated field: its element, how to read its value (undefined: leave the property out), where errors go. */
interface Field {
  el: HTMLElement;
  read(): unknown;
  errors: HTMLElement;
  control: HTMLElement | null;
}

/** Thrown by a field that cannot be read (JSON that does not parse): shown like an API issue. */
class FieldError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

const typeOf = (s: JsonSchema): string | undefined =>
  Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
const idFor = (path: string[]): `field-${string}` => `field-${path.join('-') || 'input'}`;
const isStringy = (s: JsonSchema | undefined): boolean =>
  !!s && (typeOf(s) === 'string' || (s.anyOf ?? []).every((b) => typeOf(b) === 'string'));

function hintOf(schema: JsonSchema): string | null {
  const parts: string[] = [];
  if (schema.description) parts.push(schema.description);
  if (schema.minimum !== undefined && schema.maximum !== undefined)
    parts.push(`${schema.minimum}–${schema.maximum}`);
  else if (schema.minimum !== undefined) parts.push(`≥ ${schema.minimum}`);
  else if (schema.maximum !== undefined) parts.push(`≤ ${schema.maximum}`);
  return parts.length ? parts.join(' · ') : null;
}

function buildField(
  name: string,
  schema: JsonSchema,
  path: string[],
  required: boolean,
  fields: Map<string, Field>,
): Field {
  const id = idFor(path);
  const errors = h('div', { class: 'field-errors', id: `${id}-errors`, 'aria-live': 'polite' });
  const hint = hintOf(schema);
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  const describedBy = [hintEl ? `${id}-hint` : null, `${id}-errors`].filter(Boolean).join(' ');
  const label = `${name}${required ? '' : ' (optional)'}`;
  const type = typeOf(schema);
  let field: Field;

  if (type === 'object' && schema.properties) {
    const children = Object.entries(schema.properties).map(([key, sub]) =>
      buildField(key, sub, [...path, key], (schema.required ?? []).includes(key), fields),
    );
    const keys = Object.keys(schema.properties);
    field = {
      el: h(
        'fieldset',
        { class: 'group' },
        h('legend', {}, label),
        hintEl,
        children.map((c) => c.el),
        errors,
      ),
      errors,
      control: null,
      read() {
        const out: Record<string, unknown> = {};
        children.forEach((c, i) => {
          const v = c.read();
          if (v !== undefined) out[keys[i]] = v;
        });
        return out;
      },
    };
  } else if (schema.enum || (schema.anyOf && schema.anyOf.every((b) => b.const !== undefined))) {
    const values = schema.enum ?? (schema.anyOf ?? []).map((b) => b.const);
    const control = h(
      'select',
      { id, name: path.join('.'), 'aria-describedby': describedBy },
      required ? null : h('option', { value: '' }, '—'),
      values.map((v, i) => h('option', { value: i, selected: v === schema.default }, String(v))),
    );
    field = {
      el: h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl, errors),
      errors,
      control,
      read: () => (control.value === '' ? undefined : values[Number(control.value)]),
    };
  } else if (type === 'boolean') {
    const control = h('input', {
      id,
      name: path.join('.'),
      type: 'checkbox',
      checked: schema.default === true,
      'aria-describedby': describedBy,
    });
    field = {
      el: h('div', { class: 'field check' }, control, h('label', { for: id }, label), hintEl, errors),
      errors,
      control,
      read: () => control.checked,
    };
  } else if (type === 'integer' || type === 'number') {
    const control = h('input', {
      id,
      name: path.join('.'),
      type: 'number',
      inputmode: type === 'integer' ? 'numeric' : 'decimal',
      step: type === 'integer' ? 1 : 'any',
      value: typeof schema.default === 'number' ? schema.default : null,
      'aria-describedby': describedBy,
    });
    field = {
      el: h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl, errors),
      errors,
      control,
      read() {
        const raw = control.value.trim();
        if (raw === '') {
          // A field the browser could not read as a number (e.g. "1e") reports itself empty.
          if (control.validity.badInput) throw new FieldError(path.join('.'), 'Not a number');
          return undefined;
        }
        return Number(raw);
      },
    };
  } else if (type === 'string') {
    const control = h('input', {
      id,
      name: path.join('.'),
      type: 'text',
      value: typeof schema.default === 'string' ? schema.default : null,
      'aria-describedby': describedBy,
      autocomplete: 'off',
    });
    field = {
      el: h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl, errors),
      errors,
      control,
      read: () => (control.value === '' && !required ? undefined : control.value),
    };
  } else if (type === 'array' && isStringy(schema.items)) {
    const control = h('textarea', { id, name: path.join('.'), rows: 4, 'aria-describedby': describedBy });
    if (Array.isArray(schema.default)) control.value = schema.default.join('\n');
    field = {
      el: h(
        'div',
        { class: 'field' },
        h('label', { for: id }, `${label}, one per line`),
        control,
        hintEl,
        errors,
      ),
      errors,
      control,
      read() {
        const lines = control.value
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean);
        return lines.length === 0 && !required ? undefined : lines;
      },
    };
  } else {
    // Lists, maps and choices between shapes: JSON, checked by the API like everything else.
    const control = h('textarea', {
      id,
      name: path.join('.'),
      rows: 3,
      class: 'json',
      'aria-describedby': describedBy,
    });
    if (schema.default !== undefined) control.value = JSON.stringify(schema.default);
    field = {
      el: h('div', { class: 'field' }, h('label', { for: id }, `${label} (JSON)`), control, hintEl, errors),
      errors,
      control,
      read() {
        const raw = control.value.trim();
        if (raw === '') return undefined;
        try {
          return JSON.parse(raw) as unknown;
        } catch {
          throw new FieldError(path.join('.'), 'Not valid JSON');
        }
      },
    };
  }
  fields.set(path.join('.'), field);
  return field;
}

/** Shows each issue at the deepest field its path names; the rest in the form's own error list. */
function showIssues(issues: Issue[], fields: Map<string, Field>, general: HTMLElement): void {
  const rest: Child[] = [];
  let first: HTMLElement | null = null;
  for (const issue of issues) {
    let path = issue.path.map(String);
    if (path[0] === 'input') path = path.slice(1);
    let field: Field | undefined;
    for (let n = path.length; n >= 0 && !field; n--) field = fields.get(path.slice(0, n).join('.'));
    const text = `${issue.path.join('.') || '(input)'}: ${issue.message}`;
    if (field && (path.length > 0 || fields.get('')?.control)) {
      field.errors.append(h('p', { class: 'error' }, text));
      field.control?.setAttribute('aria-invalid', 'true');
      first ??= field.control;
    } else rest.push(h('li', {}, text));
  }
  if (rest.length) general.append(h('ul', {}, rest));
  first?.focus();
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
  const general = h('div', { class: 'error-box', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Start job');
  let fields = new Map<string, Field>();
  let root: Field | null = null;

  const build = (): void => {
    const t = types.find((x) => x.type === typeSelect.value) ?? types[0];
    description.textContent = t?.description ?? '';
    fields = new Map();
    root = t ? buildField('input', t.inputSchema, [], true, fields) : null;
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
        showIssues([{ path: err.path ? err.path.split('.') : [], message: err.message }], fields, general);
        return;
      }
      throw err;
    }
    const body: Record<string, unknown> = { type: typeSelect.value, input };
    if (jobIdInput.value.trim()) body.jobId = jobIdInput.value.trim();
    submit.disabled = true;
    api<{ jobId: string }>('POST', '/api/jobs', body).then(
      (started) => location.assign(jobHref(started.jobId)),
      (err: unknown) => {
        submit.disabled = false;
        general.hidden = false;
        general.append(h('p', {}, err instanceof ApiError ? `${err.status}: ${err.message}` : String(err)));
        if (err instanceof ApiError) {
          const jobIdIssues = err.issues.filter((i) => i.path[0] === 'jobId');
          for (const i of jobIdIssues) jobIdErrors.append(h('p', { class: 'error' }, `jobId: ${i.message}`));
          if (jobIdIssues.length) jobIdInput.setAttribute('aria-invalid', 'true');
          showIssues(
            err.issues.filter((i) => i.path[0] !== 'jobId'),
            fields,
            general,
          );
        }
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
