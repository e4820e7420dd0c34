/**
 * The dashboard's entry: finds out who the caller is (asking for an API key when the API wants
 * one), draws the header, and shows the page the URL names: `/` the job list, `/new` the new-job
 * form, `/charts` the charts, `/schedules` the schedules, `/subscriptions` the webhook subscriptions
 * (admins), `/jobs/<id>` a job's card; on every page, notifications when a job breaks. Links between pages are ordinary links.
 */
import { apiKey, ApiError, me } from './api.js';
import { renderCard } from './card.js';
import { renderCharts } from './charts.js';
import { h, replace } from './dom.js';
import { renderNewJob } from './form.js';
import { renderList } from './list.js';
import { startNotifications } from './notifications.js';
import { startStackBanner } from './stack-banner.js';
import { renderSchedules } from './schedules.js';
import { renderSubscriptions } from './subscriptions.js';
import { canOperate, isAdmin, meta, type PageContext } from './context.js';
import type { Me } from './types.js';

function header(ctx: PageContext | null, notifications: HTMLElement | null = null): HTMLElement {
  const who = ctx
    ? h(
        'span',
        { class: 'who' },
        ctx.me.openMode ? 'open mode (no keys)' : `${ctx.me.name} · `,
        ctx.me.openMode ? null : h('strong', { 'data-testid': 'role' }, ctx.me.role),
        apiKey.get()
          ? h(
              'button',
              {
                type: 'button',
                class: 'link',
                onclick: () => {
                  apiKey.clear();
                  location.reload();
                },
              },
              'Forget key',
            )
          : null,
      )
    : null;
  const ui = ctx?.temporalUi;
  return h(
    'header',
    { class: 'top' },
    h('a', { href: '/', class: 'brand' }, 'Stepwise'),
    h(
      'nav',
      { 'aria-label': 'Main' },
      h('a', { href: '/' }, 'Jobs'),
      h('a', { href: '/charts' }, 'Charts'),
      ctx && canOperate(ctx) ? h('a', { href: '/new' }, 'New job') : null,
      h('a', { href: '/schedules' }, 'Schedules'),
      ctx && isAdmin(ctx) ? h('a', { href: '/subscriptions' }, 'Webhooks') : null,
      h('a', { href: '/docs' }, 'API docs'),
      ui ? h('a', { href: ui, target: '_blank', rel: 'noopener' }, 'Temporal UI') : null,
    ),
    notifications,
    who,
  );
}

/** Asks for an API key; the page reloads with it. */
function keyForm(root: HTMLElement, message: string): void {
  const input = h('input', {
    id: 'api-key',
    name: 'api-key',
    type: 'password',
    autocomplete: 'off',
    required: true,
  });
  const form = h(
    'form',
    {
      class: 'panel key-form',
      onsubmit: (e: Event) => {
        e.preventDefault();
        if (!input.value.trim()) return;
        apiKey.set(input.value.trim());
        location.reload();
      },
    },
    h('h1', {}, 'Sign in'),
    h('p', { role: 'alert' }, message),
    h('label', { for: 'api-key' }, 'API key'),
    input,
    h('p', { class: 'hint' }, 'Kept in this browser tab only (session storage).'),
    h('button', { type: 'submit', class: 'primary' }, 'Use this key'),
  );
  replace(root, header(null), h('main', {}, form));
  input.focus();
}

async function main(): Promise<void> {
  const root = document.getElementById('app')!;
  startStackBanner(root);
  let caller: Me;
  try {
    caller = await me();
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
      if (apiKey.get()) apiKey.clear();
      return keyForm(root, err.message);
    }
    replace(root, header(null), h('main', {}, h('p', { role: 'alert', class: 'error' }, String(err))));
    return;
  }
  const ctx: PageContext = {
    me: caller,
    temporalUi: meta('stepwise-temporal-ui'),
    namespace: meta('stepwise-namespace') ?? 'default',
    traceUrl: meta('stepwise-trace-url'),
  };
  const page = h('main', { id: 'main' });
  const notifications = h('div', { class: 'notify' });
  const toasts = h('div', { class: 'toasts' });
  replace(root, header(ctx, notifications), page, toasts);
  startNotifications(ctx, notifications, toasts);
  const path = location.pathname;
  const job = /^\/jobs\/([^/]+)$/.exec(path);
  if (job) {
    renderCard(page, ctx, decodeURIComponent(job[1]));
  } else if (path === '/charts') {
    await renderCharts(page, ctx);
  } else if (path === '/schedules') {
    await renderSchedules(page, ctx);
  } else if (path === '/subscriptions') {
    await renderSubscriptions(page, ctx);
  } else if (path === '/new') {
    await renderNewJob(page, ctx);
  } else {
    await renderList(page, ctx);
  }
}

void main();
