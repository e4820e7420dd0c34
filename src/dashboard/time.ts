/**
 * Times as the dashboard shows them: absolute with their zone ("5/12/2026, 14:03:07 CET"), and
 * relative ("3 min ago"). Pure (no DOM), so the unit tests run them under Node; `dom.ts`
 * re-exports them beside `timeEl`, which puts both on one `<time>` element.
 */

/** Locale and zone to format with; the browser's own when left out (tests pass them). */
export interface TimeFormat {
  locale?: string;
  timeZone?: string;
}

/** Date and time to the second, with the zone's short name; "–" for null, the text itself when not a date. */
export function when(iso: string | null, format: TimeFormat = {}): string {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(format.locale, {
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
    timeZone: format.timeZone,
  });
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * "just now", "3 min ago", "2 h ago", "5 d ago"; "in 3 min" for a time ahead of `now`. Units are
 * whole and rounded down. Within a minute either way it is "just now": the server's clock and the
 * browser's differ by a few seconds, and a job started this second must not read "in 2 s".
 * The text itself when `iso` is not a date.
 */
export function relativeTime(iso: string, now: number = Date.now()): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const diff = now - t;
  const abs = Math.abs(diff);
  if (abs < MINUTE) return 'just now';
  const amount =
    abs < HOUR
      ? `${Math.floor(abs / MINUTE)} min`
      : abs < DAY
        ? `${Math.floor(abs / HOUR)} h`
        : `${Math.floor(abs / DAY)} d`;
  return diff > 0 ? `${amount} ago` : `in ${amount}`;
}
