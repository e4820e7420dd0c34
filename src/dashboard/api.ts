/**
 * The API from the browser: the key (kept for this tab in sessionStorage), JSON calls with the
 * API's error body, and the SSE streams (EventSource cannot send headers: the key goes as
 * `?access_token=`, which only the stream routes accept).
 */
import type { Issue, Me } from './types.js';

const KEY = 'stepwise.apiKey';

export const apiKey = {
  get: (): string | null => sessionStorage.getItem(KEY),
  set: (key: string): void => sessionStorage.setItem(KEY, key),
  clear: (): void => sessionStorage.removeItem(KEY),
};

/** An error answer of the API: status, message, and the issue paths of a 400. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly issues: Issue[] = [],
  ) {
    super(message);
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const key = apiKey.get();
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'The API did not answer (network error)');
  }
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = (data ?? {}) as { message?: string; issues?: Issue[] };
    throw new ApiError(res.status, err.message ?? `${res.status} ${res.statusText}`, err.issues ?? []);
  }
  return data as T;
}

export const me = (): Promise<Me> => api<Me>('GET', '/api/me');

export interface StreamHandlers {
  /** Each named event with its parsed data. */
  onEvent(event: string, data: unknown): void;
  /** The connection's state: open, reconnecting (EventSource retries by itself), or ended. */
  onStatus?(status: 'open' | 'reconnecting' | 'ended'): void;
}

/** An EventSource on `path` (with the key as `access_token`), for the named `events`. Returns its closer. */
export function stream(path: string, events: string[], handlers: StreamHandlers): () => void {
  const url = new URL(path, location.origin);
  const key = apiKey.get();
  if (key) url.searchParams.set('access_token', key);
  const source = new EventSource(url);
  let ended = false;
  for (const name of events) {
    source.addEventListener(name, (e) => {
      handlers.onEvent(name, JSON.parse((e as MessageEvent<string>).data));
    });
  }
  source.onopen = () => handlers.onStatus?.('open');
  source.onerror = () => {
    if (ended) return;
    // CLOSED: the server refused (4xx) or ended for good (204); otherwise EventSource reconnects.
    if (source.readyState === EventSource.CLOSED) {
      ended = true;
      handlers.onStatus?.('ended');
    } else handlers.onStatus?.('reconnecting');
  };
  return () => {
    ended = true;
    source.close();
  };
}
