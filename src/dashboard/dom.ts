/** A few DOM helpers: elements from data, never HTML strings (job data is shown as text). */
import { relativeTime, when, type TimeFormat } from './time.js';

type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;
export type Child = Node | string | number | null | undefined | false | Child[];

/** An element with attributes (`on*` functions become listeners; false/null/undefined are left out). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (typeof value === 'function') el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else
      el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces an element's children. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** "1.2 s", "3 min 4 s", "2 h 5 min". */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export { relativeTime, when, type TimeFormat } from './time.js';

/**
 * A `<time>` showing how long ago `iso` was ("3 min ago"), with the absolute time and its zone in
 * its title (shown on hover) and `datetime` for machines. {@link refreshTimes} keeps the text
 * current.
 */
export function timeEl(iso: string, now: number = Date.now(), format: TimeFormat = {}): HTMLTimeElement {
  return h('time', { datetime: iso, title: when(iso, format), 'data-relative': '' }, relativeTime(iso, now));
}

/** Brings the text of every {@link timeEl} under `root` up to `now` (e.g. from a timer). */
export function refreshTimes(root: ParentNode, now: number = Date.now()): void {
  for (const el of root.querySelectorAll<HTMLTimeElement>('time[data-relative]')) {
    const text = relativeTime(el.dateTime, now);
    if (el.textContent !== text) el.textContent = text;
  }
}

/** A status badge: the status as text (colour only repeats it). */
export function badge(status: string): HTMLSpanElement {
  return h('span', { class: `badge s-${status}` }, status.replace(/_/g, ' '));
}

/** An accessible progress bar: role=progressbar with aria-valuenow, and the number as text. */
export function progressBar(label: string, value: number, big = false): HTMLDivElement {
  const fill = h('div', { class: 'fill' });
  const bar = h(
    'div',
    {
      class: big ? 'bar big' : 'bar',
      role: 'progressbar',
      'aria-label': label,
      'aria-valuemin': 0,
      'aria-valuemax': 100,
    },
    fill,
  );
  setProgress(bar, value);
  return bar;
}

export function setProgress(bar: HTMLElement, value: number): void {
  const v = Math.max(0, Math.min(100, Math.round(value * 10) / 10));
  bar.setAttribute('aria-valuenow', String(v));
  bar.setAttribute('aria-valuetext', `${v}%`);
  (bar.firstElementChild as HTMLElement).style.width = `${v}%`;
}

/** `/jobs/<id>`: a job card's own URL. */
export const jobHref = (jobId: string): string => `/jobs/${encodeURIComponent(jobId)}`;
