/**
 * The API from the browser: the key (kept for this tab in sessionStorage), JSON calls with the
 * API's error body, and the SSE streams — read with `fetch`, so the key goes in the
 * `Authorization` header like on every other call and never into a URL (where proxy logs and the
 * browser's history would keep it).
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

/**
 * One call. A request that changes something always carries a JSON body (`{}` at least): the API
 * refuses those without one, which is what keeps other sites' forms and simple requests out.
 */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const key = apiKey.get();
  if (key) headers.authorization = `Bearer ${key}`;
  if (body === undefined && method !== 'GET' && method !== 'HEAD') body = {};
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
  /** The connection's state: open, reconnecting (after a network error), or ended. */
  onStatus?(status: 'open' | 'reconnecting' | 'ended'): void;
}

/** How long to wait before reconnecting, unless the server said otherwise (`retry:`), as EventSource does. */
const RECONNECT_MS = 3000;

/**
 * A server-sent event stream on `path` for the named `events`, read with `fetch` and parsed here.
 * It behaves as EventSource does: after a network error, or when the server ends the stream, it
 * reconnects with `Last-Event-ID` (the server answers 204 once there is nothing more); an answer
 * that is not 200 (401, 404, 429, 503…) or a 204 ends it for good. Returns its closer.
 */
export function stream(path: string, events: string[], handlers: StreamHandlers): () => void {
  const wanted = new Set(events);
  let closed = false;
  let controller: AbortController | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lastEventId: string | null = null;
  let retryMs = RECONNECT_MS;

  const end = (): void => {
    if (closed) return;
    closed = true;
    handlers.onStatus?.('ended');
  };
  const reconnect = (): void => {
    if (closed) return;
    handlers.onStatus?.('reconnecting');
    timer = setTimeout(() => void connect(), retryMs);
  };

  /** One event block (the lines between two blank lines). */
  const dispatch = (block: string): void => {
    let event = 'message';
    let data: string[] = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data = [...data, value];
      else if (field === 'id' && !value.includes('\0')) lastEventId = value;
      else if (field === 'retry' && /^\d+$/.test(value)) retryMs = Number(value);
    }
    if (data.length === 0 || !wanted.has(event)) return;
    try {
      handlers.onEvent(event, JSON.parse(data.join('\n')));
    } catch (err) {
      // As with EventSource: a failing listener is reported and the stream goes on.
      setTimeout(() => {
        throw err;
      });
    }
  };

  const connect = async (): Promise<void> => {
    if (closed) return;
    controller = new AbortController();
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    const key = apiKey.get();
    if (key) headers.authorization = `Bearer ${key}`;
    if (lastEventId !== null) headers['last-event-id'] = lastEventId;
    let res: Response;
    try {
      res = await fetch(path, { headers, cache: 'no-store', signal: controller.signal });
    } catch {
      return reconnect();
    }
    if (res.status !== 200 || !res.body) {
      void res.body?.cancel();
      return end();
    }
    handlers.onStatus?.('open');
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer = (buffer + decoder.decode(value, { stream: true })).replace(/\r\n?/g, '\n');
        let at: number;
        while (!closed && (at = buffer.indexOf('\n\n')) >= 0) {
          dispatch(buffer.slice(0, at));
          buffer = buffer.slice(at + 2);
        }
      }
    } catch {
      // The connection broke (or this stream was closed): reconnect below unless closed.
    }
    reconnect();
  };

  void connect();
  return () => {
    closed = true;
    clearTimeout(timer);
    controller?.abort();
  };
}
