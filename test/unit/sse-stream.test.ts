/**
 * A live stream whose client stops reading: its socket (here a writable that never finishes a
 * write, as a stalled TCP peer's does once the kernel buffers are full) refuses more data. The
 * stream must not buffer a state per poll meanwhile, must send only the latest state once the
 * socket drains, and must close the stream past its stall bound.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Writable } from 'node:stream';
import type { StreamEvent, Subscription } from '../../src/api/events/event-hub.service';
import { SseStream } from '../../src/api/events/events.controller';

/** A socket-like response whose writes never complete until `drain()`. */
class StalledResponse extends Writable {
  readonly written: string[] = [];
  private held: (() => void)[] = [];
  constructor() {
    super({ highWaterMark: 1024 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.written.push(chunk.toString('utf8'));
    this.held.push(done);
  }
  writeHead(): this {
    return this;
  }
  /** The client reads again: every held write completes. */
  drain(): void {
    while (this.held.length > 0) this.held.shift()!();
  }
}

function setup(stallMs = 5_000) {
  const res = new StalledResponse();
  const request = {
    method: 'GET',
    id: 'req-1',
    raw: { socket: { destroyed: false }, on: () => undefined },
  } as unknown as FastifyRequest;
  const reply = { raw: res, hijack: () => undefined, getHeader: () => 'req-1' } as unknown as FastifyReply;
  let latest = { state: { n: 0, pad: '' }, version: 1 };
  const unsubscribe = jest.fn();
  const subscription: Subscription<unknown> = {
    current: latest.state,
    version: latest.version,
    closed: false,
    latest: () => latest,
    unsubscribe,
  };
  const stream = new SseStream(request, reply, { heartbeatMs: 60_000, stallMs }, (l) => [
    { event: 'state', id: l.version, data: l.state },
  ]);
  /** The poller's next state (about 4 KB), sent to the stream as a poll would. */
  const poll = (n: number): void => {
    latest = { state: { n, pad: 'x'.repeat(4096) }, version: 1 + n };
    const event: StreamEvent = { event: 'state', id: latest.version, data: latest.state };
    stream.send([event]);
  };
  return { res, stream, subscription, unsubscribe, poll };
}

const eventsIn = (text: string): { id: number; n: number }[] =>
  [...text.matchAll(/id: (\d+)\ndata: (.*)\n/g)].map((m) => ({
    id: Number(m[1]),
    n: (JSON.parse(m[2]) as { n: number }).n,
  }));

afterEach(() => jest.useRealTimers());

it('keeps only the latest state while the socket is stalled, and sends it once it drains', () => {
  const { res, stream, subscription, poll } = setup();
  stream.open(subscription, [{ event: 'state', id: 1, data: { n: 0, pad: '' } }], null);
  poll(1); // fills the socket's buffer past its high-water mark: stalled from here
  const buffered = res.writableLength;
  expect(buffered).toBeGreaterThan(res.writableHighWaterMark);
  for (let n = 2; n <= 200; n++) poll(n); // 200 polls of a stalled client: about 800 KB before the fix
  expect(res.writableLength).toBe(buffered);

  res.drain();
  const after = eventsIn(res.written.join(''));
  // The states written: the first, the one that stalled the socket, and then only the latest.
  expect(after.map((e) => e.n)).toEqual([0, 1, 200]);
  expect(after.map((e) => e.id)).toEqual([1, 2, 201]);
});

it('closes a stream whose socket stays stalled past the bound, and frees its subscription', () => {
  jest.useFakeTimers();
  const { res, stream, subscription, unsubscribe, poll } = setup(1_000);
  stream.open(subscription, [{ event: 'state', id: 1, data: { n: 0, pad: '' } }], null);
  poll(1);
  for (let n = 2; n <= 10; n++) poll(n);
  jest.advanceTimersByTime(999);
  expect(res.destroyed).toBe(false);
  jest.advanceTimersByTime(1);
  expect(res.destroyed).toBe(true);
  expect(unsubscribe).toHaveBeenCalled();
});
