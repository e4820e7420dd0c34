/**
 * Which link targets the dashboard renders as links. Pure (no DOM), so it is unit-tested with the
 * same WHATWG URL parser browsers use.
 */

/**
 * `route` as a path of the page's own site (`origin`), normalised as the browser will resolve it,
 * or null when it would leave the site: another scheme or host, `//host`, and `/\host` (browsers
 * read a backslash as a slash) among them.
 */
export function sameOriginPath(route: string, origin: string): string | null {
  if (!route.startsWith('/')) return null;
  let url: URL;
  try {
    url = new URL(route, origin);
  } catch {
    return null;
  }
  if (url.origin !== new URL(origin).origin) return null;
  return `${url.pathname}${url.search}${url.hash}`;
}
