/**
 * A banner over every page when part of the stack is down or restarting: the API does not answer,
 * Temporal is unreachable, or — under `npm start` / `npm run cluster` — a process of the launcher is
 * not up (its state, restarts and last exit, from `GET /health/ready`'s `stack`). Checked every few
 * seconds while the page is visible; hidden when everything is up.
 */
import { h, replace } from './dom.js';
import type { Health as Readiness, ProcessStatus } from './types.js';

const EVERY_MS = 5_000;

const STATE_TEXT: Record<ProcessStatus['state'], string> = {
  starting: 'is starting',
  up: 'is up',
  restarting: 'is restarting',
  waiting: 'waits for what it depends on',
  stopping: 'is stopping',
  stopped: 'is stopped',
};

/** The banner's lines for one answer (or for no answer: `null`); empty when all is well. */
export function bannerLines(answer: Readiness | null): string[] {
  if (!answer) return ['The API is not answering — it may be restarting. This page retries by itself.'];
  const lines: string[] = [];
  if (answer.temporal !== 'ok') {
    lines.push('Temporal is unreachable: jobs cannot be read or started until it is back.');
  }
  const stack = answer.stack;
  if (stack?.status === 'unknown')
    lines.push(`The launcher (${stack.launcher}) that started this API is gone.`);
  for (const p of stack?.processes ?? []) {
    if (p.state === 'up') continue;
    const details = [
      p.restarts > 0 ? `${p.restarts} restart${p.restarts === 1 ? '' : 's'}` : null,
      p.lastExit ? `last exit: ${p.lastExit.reason}` : null,
    ].filter(Boolean);
    lines.push(`${p.name} ${STATE_TEXT[p.state]}${details.length > 0 ? ` (${details.join('; ')})` : ''}.`);
  }
  return lines;
}

async function readiness(): Promise<Readiness | null> {
  try {
    const res = await fetch('/health/ready', { headers: { accept: 'application/json' }, cache: 'no-store' });
    if (res.status !== 200 && res.status !== 503) return null;
    return (await res.json()) as Readiness;
  } catch {
    return null;
  }
}

/** Puts the banner before `anchor` and keeps it current. */
export function startStackBanner(anchor: HTMLElement): void {
  const banner = h('div', {
    class: 'stack-banner',
    role: 'status',
    'data-testid': 'stack-banner',
    hidden: true,
  });
  anchor.before(banner);
  const check = async (): Promise<void> => {
    const lines = bannerLines(await readiness());
    banner.hidden = lines.length === 0;
    replace(banner, ...lines.map((l) => h('p', {}, l)));
  };
  void check();
  setInterval(() => {
    if (!document.hidden) void check();
  }, EVERY_MS);
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) void check();
  });
}
