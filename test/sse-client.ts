/**
 * A server-sent events client for the stream tests, over real HTTP (inject does not stream): the
 * events and comments as they come, whether the stream ended, and a deadline-bound wait on them.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';

export interface SseEvent {
  event: string;
  id: string | null;
  data: string;
}

/** An open SSE response: its events and comments as they come, and whether it ended. */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  ended = false;
  body = '';
  private buffer = '';
  private waiters: (() => void)[] = [];

  constructor(
    readonly res: IncomingMessage,
    private readonly abort: () => void,
  ) {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.body += chunk;
      this.buffer += chunk;
      let at: number;
      while ((at = this.buffer.indexOf('\n\n')) >= 0) {
        const block = this.buffer.slice(0, at);
        this.buffer = this.buffer.slice(at + 2);
        const ev: SseEvent = { event: 'message', id: null, data: '' };
        let isEvent = false;
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
          else {
            isEvent = true;
            const [field, ...rest] = line.split(':');
            const value = rest.join(':').replace(/^ /, '');
            if (field === 'event') ev.event = value;
            else if (field === 'id') ev.id = value;
            else if (field === 'data') ev.data += value;
          }
        }
        if (isEvent) this.events.push(ev);
      }
      this.wake();
    });
    res.on('end', () => {
      this.ended = true;
      this.wake();
    });
    res.on('close', () => {
      this.ended = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until `done()` holds (checked on each chunk), failing past the deadline. */
  async until(done: () => boolean, timeoutMs = 60_000, what = 'stream condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; events: ${this.events.length}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.abort();
  }
}

/** Opens `url` as an event stream; resolves with the client once the answer's head arrived. */
export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) =>
      resolve(new SseClient(res, () => req.destroy())),
    );
    req.on('error', (err) =>
      (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err),
    );
    req.end();
  });
}

/**
 * Sends a stream request and returns it without waiting for an answer (the stream's first event
 * may be far off): `req.destroy()` is a client leaving before its first event.
 */
export function startSse(url: string, headers: Record<string, string> = {}): ClientRequest {
  const req = httpRequest(url, { headers: { accept: 'text/event-stream', ...headers } });
  req.on('error', () => undefined); // the test destroys it
  req.end();
  return req;
}
