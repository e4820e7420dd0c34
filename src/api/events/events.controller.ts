/**
 * Live streams (server-sent events): a job's state as it changes, and a filtered job list's
 * started / changed / closed / removed jobs. Both read through the shared pollers of
 * {@link EventHub}: one per job or per list, however many clients watch. Errors before the stream
 * starts (unknown job, bad filter, too many streams) are ordinary JSON error answers.
 */
import { Controller, Get, Headers, HttpStatus, Param, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { JobState } from '../../../workflows/contracts';
import { ZodPipe } from '../common/pipes/zod.pipe';
import { QueryTokenAuth } from '../common/route-policy';
import { ApiOperation } from '../openapi/api-operation';
import { jobIdSchema, listJobsQuerySchema } from '../jobs/schemas';
import { KeyRing } from '../auth/key-ring';
import { requestContext } from '../common/request-context';
import {
  LIST_STREAM_PAGE_SIZE,
  EventHub,
  StreamAbortedError,
  type StreamCaller,
  type StreamEvent,
  type Subscriber,
  type Subscription,
} from './event-hub.service';

/**
 * `?access_token=<key>`: for clients that cannot send headers. The dashboard does not use it (it
 * reads its streams with `fetch` and the `Authorization` header); a key in a URL ends up in proxy
 * logs and browser history (docs/security.md). Stepwise's own logs redact it.
 */
const accessTokenSchema = z
  .string()
  .max(4096)
  .optional()
  .describe(
    'The API key, for clients that cannot send headers; prefer the Authorization header (a key in a URL is logged by proxies)',
  );

/**
 * The list filters and a page (a stream watches one page: its cost is one visibility read a tick,
 * however many jobs match), plus the key for clients that cannot send headers (read by the auth
 * guard). No `sort`: a sorted listing reads every matching job, too much to repeat every tick.
 */
export const listEventsQuerySchema = listJobsQuerySchema.omit({ sort: true, pageSize: true }).extend({
  pageSize: z.coerce
    .number()
    .int()
    .min(1)
    .max(LIST_STREAM_PAGE_SIZE)
    .default(LIST_STREAM_PAGE_SIZE)
    .describe(`Jobs the stream watches, at most ${LIST_STREAM_PAGE_SIZE}`),
  access_token: accessTokenSchema,
});
type ListEventsQuery = ReturnType<typeof listEventsQuerySchema.parse>;

const JobIdPipe = new ZodPipe(jobIdSchema, 'job id');

/** The job stream's query: only the key, for clients that cannot send headers. */
const jobEventsQuerySchema = z.object({ access_token: accessTokenSchema });
const STREAM_ERRORS = {
  429: 'STEPWISE_STREAM_MAX_PER_CALLER streams already open for this key (this address in open mode), or the read rate limit',
  503:
    'Temporal unavailable, the API shutting down, STEPWISE_STREAM_MAX_SUBSCRIBERS streams already open, ' +
    'or STEPWISE_STREAM_MAX_POLLERS distinct jobs and lists already watched',
};
/** An SSE body: described in words (OpenAPI has no schema language for event streams). */
const sseBody = z
  .string()
  .describe('text/event-stream: `event:`, `id:` and one line of JSON `data:` per event');

/** One event in the SSE wire format (the data is one line of JSON). */
const frame = (e: StreamEvent): string =>
  `event: ${e.event}\nid: ${e.id}\ndata: ${JSON.stringify(e.data)}\n\n`;

/**
 * A stream on a hijacked reply: buffers what the poller sends until the first event is written,
 * drops anything not newer than what the client has, sends heartbeats while idle, and
 * unsubscribes when the client leaves — noticed from the moment the stream object exists, before
 * the first poll is awaited. A client that stops reading (its socket refuses more data) gets no
 * more writes: what the poller sends meanwhile is dropped, the latest state is written once the
 * socket drains, and past `stallMs` without draining the stream is closed.
 */
export class SseStream implements Subscriber {
  private pending: StreamEvent[] | null = [];
  private endPending = false;
  private lastId = -Infinity;
  private lastWrite = Date.now();
  private heartbeat: NodeJS.Timeout | null = null;
  private done = false;
  private subscription: Subscription<unknown> | null = null;
  private stalled = false;
  /** Changes dropped while stalled: the latest state is owed to the client. */
  private missed = false;
  private stallTimer: NodeJS.Timeout | null = null;
  private readonly gone = new AbortController();

  /**
   * @param toEvents What to send a client that fell behind: the poller's latest state as events.
   */
  constructor(
    private readonly request: FastifyRequest,
    private readonly reply: FastifyReply,
    private readonly options: { heartbeatMs: number; stallMs: number },
    private readonly toEvents: (latest: { state: unknown; version: number }) => StreamEvent[],
  ) {
    const res = reply.raw;
    if (res.destroyed || request.raw.socket?.destroyed) this.leave();
    else res.once('close', () => this.leave());
  }

  /** Aborts when the client leaves (before or after the stream started). */
  get signal(): AbortSignal {
    return this.gone.signal;
  }

  send(events: StreamEvent[]): void {
    if (this.pending) this.pending.push(...events);
    else if (this.stalled) this.missed = true;
    else this.write(events);
  }

  end(): void {
    if (this.pending) this.endPending = true;
    else {
      // One last write past a stall, so the client gets the final state before the end.
      if (this.stalled && this.missed) this.writeLatest();
      this.close();
    }
  }

  /** Starts the response: headers, the first events (unless the client has them), then whatever came meanwhile. */
  open(subscription: Subscription<unknown>, first: StreamEvent[], lastEventId: number | null): void {
    this.subscription = subscription;
    if (this.done) return subscription.unsubscribe();
    const res = this.reply.raw;
    void this.reply.hijack();
    res.writeHead(HttpStatus.OK, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-request-id': String(this.reply.getHeader('x-request-id') ?? this.request.id),
    });
    // HEAD (Fastify serves it for every GET): the headers only.
    if (this.request.method === 'HEAD') return this.close();
    if (lastEventId !== null) this.lastId = lastEventId;
    // A comment first, so clients see the stream open even when nothing is new to them.
    this.raw(': stream open\n\n');
    this.write(first);
    const pending = this.pending ?? [];
    this.pending = null;
    if (this.stalled) this.missed ||= pending.length > 0;
    else this.write(pending);
    if (this.endPending || subscription.closed) return this.end();
    this.heartbeat = setInterval(() => {
      if (!this.stalled && Date.now() - this.lastWrite >= this.options.heartbeatMs - 5)
        this.raw(': heartbeat\n\n');
    }, this.options.heartbeatMs);
    this.heartbeat.unref();
  }

  private write(events: StreamEvent[]): void {
    // Only newer versions: what a reconnecting client has (Last-Event-ID), or the buffer repeated.
    const fresh = events.filter((e) => e.id > this.lastId || (e.id === this.lastId && e.event === 'closed'));
    if (fresh.length === 0) return;
    this.lastId = Math.max(this.lastId, ...fresh.map((e) => e.id));
    this.raw(fresh.map(frame).join(''));
  }

  private writeLatest(): void {
    this.missed = false;
    const latest = this.subscription?.latest();
    if (latest) this.write(this.toEvents(latest));
  }

  private raw(text: string): void {
    if (this.done) return;
    this.lastWrite = Date.now();
    if (!this.reply.raw.write(text)) this.stall();
  }

  /** The socket's buffer is full: nothing more until it drains, and not for longer than `stallMs`. */
  private stall(): void {
    if (this.stalled) return;
    this.stalled = true;
    this.reply.raw.once('drain', () => {
      if (this.done) return;
      this.stalled = false;
      if (this.stallTimer) clearTimeout(this.stallTimer);
      this.stallTimer = null;
      if (this.missed) this.writeLatest();
    });
    this.stallTimer = setTimeout(() => this.close(true), this.options.stallMs);
    this.stallTimer.unref();
  }

  /** The client left: stop everything (the hub frees the place even before the first event). */
  private leave(): void {
    this.gone.abort();
    this.close();
  }

  /** Ends the stream; `abandon`: the client stopped reading, so what is buffered for it is dropped. */
  private close(abandon = false): void {
    if (this.done) return;
    this.done = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.subscription?.unsubscribe();
    if (!this.gone.signal.aborted) this.gone.abort();
    const res = this.reply.raw;
    if (abandon) res.destroy();
    else if (this.subscription && !res.writableEnded) res.end();
  }
}

/** `Last-Event-ID` as a version; anything else is ignored (the client gets the current state). */
function parseLastEventId(header: string | undefined): number | null {
  if (header === undefined || !/^\d{1,16}$/.test(header.trim())) return null;
  return Number(header.trim());
}

@Controller('api')
export class EventsController {
  constructor(
    private readonly hub: EventHub,
    private readonly keys: KeyRing,
  ) {}

  /** Whose streams count against the per-caller cap: the key, or the address in open mode. */
  private caller(request: FastifyRequest): StreamCaller {
    if (this.keys.open) return { id: `address:${request.ip}`, label: `the address ${request.ip}` };
    const name = requestContext(request).actor?.name ?? 'unknown';
    return { id: `key:${name}`, label: `the key "${name}"` };
  }

  /** A stream for this request, its close listener attached before anything is awaited. */
  private stream(
    request: FastifyRequest,
    reply: FastifyReply,
    toEvents: (latest: { state: unknown; version: number }) => StreamEvent[],
  ): SseStream {
    const { heartbeatMs, stallMs } = this.hub;
    return new SseStream(request, reply, { heartbeatMs, stallMs }, toEvents);
  }

  /**
   * The job's state at once (`event: state`, `id: <version>`), then each change, and `event:
   * closed` with the final state when the job closes, then the end. A closed job's client that
   * already has the final version gets 204 (EventSource stops reconnecting).
   */
  @Get('jobs/:jobId/events')
  @QueryTokenAuth()
  @ApiOperation({
    summary: "Stream a job's state (server-sent events)",
    description:
      '`event: state` with the `JobState` at once and on every change, `event: closed` with the final ' +
      'state when the job closes (then the stream ends); `id:` is the state version, which only increases. ' +
      'Heartbeat comments while idle. Send `Last-Event-ID` (EventSource does on reconnect) to skip what ' +
      'you have; a closed job whose final version you have answers 204.',
    tags: ['streams'],
    params: z.object({ jobId: jobIdSchema }),
    query: jobEventsQuerySchema,
    responses: {
      200: { description: 'The event stream', contentType: 'text/event-stream', schema: sseBody },
      204: { description: 'The job is closed and the client already has its final state' },
    },
    errors: { 400: 'Malformed job id', 404: 'No job with this id', ...STREAM_ERRORS },
  })
  async jobEvents(
    @Param('jobId', JobIdPipe) jobId: string,
    @Headers('last-event-id') lastEventIdHeader: string | undefined,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const lastEventId = parseLastEventId(lastEventIdHeader);
    const stream = this.stream(request, reply, ({ state, version }) => [
      { event: (state as JobState).closedAt !== null ? 'closed' : 'state', id: version, data: state },
    ]);
    const sub = await gone(
      this.hub.subscribeJob(jobId, stream, { caller: this.caller(request), signal: stream.signal }),
    );
    if (!sub) return; // the client left before the first event
    if (sub.closed && lastEventId === sub.version) {
      sub.unsubscribe();
      void reply.status(HttpStatus.NO_CONTENT).send();
      return;
    }
    const state: JobState = sub.current;
    const event = state.closedAt !== null || sub.closed ? 'closed' : 'state';
    stream.open(sub, [{ event, id: sub.version, data: state }], lastEventId);
  }

  /**
   * Jobs matching the `GET /api/jobs` filters (the newest 100): `snapshot` with the list at once,
   * then `started`, `changed` (status, progress, step), `closed` and `removed` (no longer listed).
   */
  @Get('events')
  @QueryTokenAuth()
  @ApiOperation({
    summary: 'Stream the job list (server-sent events)',
    description:
      '`event: snapshot` with `{jobs: JobSummary[]}` (the newest 100 matching the filters) at once, then ' +
      '`started`, `changed` (status, progress, step), `closed` (each a `JobSummary`) and `removed` (`{jobId}`). ' +
      'Heartbeat comments while idle.',
    tags: ['streams'],
    query: listEventsQuerySchema,
    responses: {
      200: { description: 'The event stream', contentType: 'text/event-stream', schema: sseBody },
    },
    errors: { 400: 'Bad filter, or an unknown parameter', ...STREAM_ERRORS },
  })
  async listEvents(
    @Query(new ZodPipe(listEventsQuerySchema, 'query')) query: ListEventsQuery,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const { access_token: _token, ...filters } = query;
    const stream = this.stream(request, reply, ({ state, version }) => [
      { event: 'snapshot', id: version, data: { jobs: state } },
    ]);
    const sub = await gone(
      this.hub.subscribeList(filters, stream, { caller: this.caller(request), signal: stream.signal }),
    );
    if (!sub) return; // the client left before the first event
    // Always the snapshot: a list's events are only meaningful on top of it.
    stream.open(sub, [{ event: 'snapshot', id: sub.version, data: { jobs: sub.current } }], null);
  }
}

/** The subscription, or null when the client left before it was made (nobody to answer). */
async function gone<S>(subscribing: Promise<Subscription<S>>): Promise<Subscription<S> | null> {
  try {
    return await subscribing;
  } catch (err) {
    if (err instanceof StreamAbortedError) return null;
    throw err;
  }
}
