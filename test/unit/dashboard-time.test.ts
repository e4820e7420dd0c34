/**
 * The dashboard's times (`src/dashboard/time.ts`, re-exported by `dom.ts`): absolute with their
 * zone, relative ("3 min ago", "in 3 min"), and `timeEl`, which carries both on a `<time>`.
 */
import { relativeTime, when } from '../../src/dashboard/time';

const T = Date.parse('2026-03-10T12:00:00Z');
const ago = (ms: number): string => new Date(T - ms).toISOString();
const MIN = 60_000;
const H = 60 * MIN;
const D = 24 * H;

describe('relativeTime', () => {
  it('reads within a minute either way as "just now" (clocks differ by seconds)', () => {
    expect(relativeTime(ago(0), T)).toBe('just now');
    expect(relativeTime(ago(59_999), T)).toBe('just now');
    expect(relativeTime(ago(-30_000), T)).toBe('just now');
  });

  it('counts whole minutes, hours and days, rounded down', () => {
    expect(relativeTime(ago(MIN), T)).toBe('1 min ago');
    expect(relativeTime(ago(3 * MIN + 59_000), T)).toBe('3 min ago');
    expect(relativeTime(ago(59 * MIN + 59_000), T)).toBe('59 min ago');
    expect(relativeTime(ago(H), T)).toBe('1 h ago');
    expect(relativeTime(ago(2 * H + 50 * MIN), T)).toBe('2 h ago');
    expect(relativeTime(ago(D - 1), T)).toBe('23 h ago');
    expect(relativeTime(ago(5 * D + 3 * H), T)).toBe('5 d ago');
    expect(relativeTime(ago(400 * D), T)).toBe('400 d ago');
  });

  it('says "in …" for a time ahead', () => {
    expect(relativeTime(ago(-3 * MIN), T)).toBe('in 3 min');
    expect(relativeTime(ago(-2 * H), T)).toBe('in 2 h');
    expect(relativeTime(ago(-6 * D), T)).toBe('in 6 d');
  });

  it('defaults `now` to the clock', () => {
    expect(relativeTime(new Date(Date.now() - 10 * MIN - 5000).toISOString())).toBe('10 min ago');
  });

  it('gives back text that is not a date', () => {
    expect(relativeTime('soon', T)).toBe('soon');
  });
});

describe('when', () => {
  const iso = '2026-01-02T03:04:05Z';

  it('shows date and time to the second with the zone', () => {
    expect(when(iso, { locale: 'en-US', timeZone: 'UTC' })).toBe('1/2/2026, 03:04:05 UTC');
    expect(when(iso, { locale: 'en-US', timeZone: 'America/New_York' })).toBe('1/1/2026, 22:04:05 EST');
    expect(when(iso, { locale: 'en-GB', timeZone: 'Asia/Kolkata' })).toMatch(
      /^02\/01\/2026, 08:34:05 (IST|GMT\+5:30)$/,
    );
  });

  it('uses the runtime’s zone when none is given, and names it', () => {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    expect(when(iso)).toBe(when(iso, { timeZone: zone }));
    const parts = new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' }).formatToParts(new Date(iso));
    expect(when(iso)).toContain(parts.find((p) => p.type === 'timeZoneName')!.value);
  });

  it('keeps "–" for no time and the text for one that is not a date', () => {
    expect(when(null)).toBe('–');
    expect(when('')).toBe('–');
    expect(when('later')).toBe('later');
  });
});

/** Just enough of a DOM for `h()`: elements with attributes and children. */
class FakeNode {
  readonly attributes = new Map<string, string>();
  readonly childNodes: FakeNode[] = [];
  constructor(
    readonly tagName: string,
    private readonly text = '',
  ) {}
  setAttribute(name: string, value: string): void {
    this.attributes.set(name, value);
  }
  getAttribute(name: string): string | null {
    return this.attributes.get(name) ?? null;
  }
  addEventListener(): void {}
  appendChild(child: FakeNode): FakeNode {
    this.childNodes.push(child);
    return child;
  }
  get textContent(): string {
    return this.text + this.childNodes.map((c) => c.textContent).join('');
  }
}

describe('timeEl', () => {
  interface Dom {
    timeEl(iso: string, now?: number, format?: { locale?: string; timeZone?: string }): FakeNode;
  }
  let dom: Dom;
  beforeAll(() => {
    Object.assign(globalThis, {
      document: {
        createElement: (tag: string) => new FakeNode(tag.toUpperCase()),
        createTextNode: (text: string) => new FakeNode('#text', text),
      },
    });
    // Loaded by require: the root type check runs without the DOM library that dom.ts compiles with.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    dom = require('../../src/dashboard/dom') as Dom;
  });
  afterAll(() => {
    delete (globalThis as { document?: unknown }).document;
  });

  it('is a <time> with the relative text, the ISO datetime and the absolute time with zone as title', () => {
    const iso = ago(3 * MIN);
    const el = dom.timeEl(iso, T, { locale: 'en-US', timeZone: 'UTC' });
    expect(el.tagName).toBe('TIME');
    expect(el.textContent).toBe('3 min ago');
    expect(el.getAttribute('datetime')).toBe(iso);
    expect(el.getAttribute('title')).toBe('3/10/2026, 11:57:00 UTC');
    expect(el.getAttribute('data-relative')).toBe('');
  });
});
