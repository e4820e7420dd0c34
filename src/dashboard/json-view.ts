/**
 * A JSON value as a collapsible structured view (not a truncated string): objects and arrays are
 * `<details>` that open on demand, values are shown by type, and a "Copy" button puts the whole value
 * on the clipboard as indented JSON. Bounded: at most {@link MAX_NODES} entries are drawn (the rest
 * is counted), so a huge result cannot freeze the page; the copy still has all of it.
 */
import { h } from './dom.js';

const MAX_NODES = 500;
/** Levels open from the start. */
const OPEN_LEVELS = 1;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isContainer = (v: unknown): v is Json[] | Record<string, Json> => typeof v === 'object' && v !== null;

function scalar(value: unknown): HTMLElement {
  const type = value === null ? 'null' : typeof value;
  return h('span', { class: `json-${type}` }, type === 'string' ? JSON.stringify(value) : String(value));
}

function shape(value: Json[] | Record<string, Json>): string {
  return Array.isArray(value) ? `[${value.length}]` : `{${Object.keys(value).length}}`;
}

/** One entry: a key and its value, a container as its own `<details>`. */
function entry(key: string | null, value: unknown, level: number, budget: { left: number }): HTMLElement {
  budget.left -= 1;
  const label = key === null ? null : h('span', { class: 'json-key' }, `${key}: `);
  if (!isContainer(value)) return h('li', {}, label, scalar(value));
  const entries = Array.isArray(value)
    ? value.map((v, i): [string, unknown] => [String(i), v])
    : Object.entries(value);
  const items: HTMLElement[] = [];
  for (const [k, v] of entries) {
    if (budget.left <= 0) {
      items.push(h('li', { class: 'hint' }, `… ${entries.length - items.length} more (Copy has them all)`));
      break;
    }
    items.push(entry(k, v, level + 1, budget));
  }
  return h(
    'li',
    {},
    h(
      'details',
      { open: level < OPEN_LEVELS },
      h('summary', {}, label, h('span', { class: 'hint' }, shape(value))),
      h('ul', { class: 'json' }, items),
    ),
  );
}

/** The view of `value`, titled `title` (`label` by default; `label` names the copy button). */
export function jsonView(label: string, value: unknown, title: string | null = label): HTMLElement {
  const copy = h('button', { type: 'button', class: 'copy', 'aria-label': `Copy ${label} as JSON` }, 'Copy');
  const said = h('span', { class: 'hint', role: 'status' });
  copy.addEventListener('click', () => {
    navigator.clipboard.writeText(JSON.stringify(value, null, 2)).then(
      () => {
        said.textContent = 'Copied';
      },
      () => {
        said.textContent = 'Copy failed (the browser refused the clipboard)';
      },
    );
  });
  return h(
    'div',
    { class: 'json-view' },
    h('div', { class: 'json-head' }, title ? h('span', { class: 'json-label' }, title) : null, copy, said),
    h('ul', { class: 'json json-root' }, entry(null, value, 0, { left: MAX_NODES })),
  );
}

/**
 * Keeps views across re-renders: the same key and the same value give the same element back, so a
 * live page that redraws does not close what the user opened.
 */
export class JsonViews {
  private readonly views = new Map<string, { json: string; el: HTMLElement }>();

  /** `wrap` puts the view in what is kept with it (e.g. a `<details>` whose open state must last). */
  get(
    key: string,
    label: string,
    value: unknown,
    wrap: ((view: HTMLElement) => HTMLElement) | null = null,
  ): HTMLElement {
    const json = JSON.stringify(value);
    const kept = this.views.get(key);
    if (kept && kept.json === json) return kept.el;
    // A wrapped view (a step's result) is titled by its wrapper.
    const el = wrap ? wrap(jsonView(label, value, null)) : jsonView(label, value);
    this.views.set(key, { json, el });
    return el;
  }
}
