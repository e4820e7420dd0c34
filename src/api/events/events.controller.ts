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
import { EventHub, type StreamEvent, type Subscriber, type Subscription } from './event-hub.service';

/** The list filters, plus the key for browsers' EventSource (read by the auth guard). */
export const listEventsQuerySchema = listJobsQuerySchema
  .omit({ pageSize: true, pageToken: true })
  .extend({ access_token: listJobsQuerySchema.shape.type });
type ListEventsQuery = ReturnType<typeof listEventsQuerySchema.parse>;

const JobIdPipe = new ZodPipe(jobIdSchema, 'job id');

/** The job stream's query: only the key for EventSource. */
const jobEventsQuerySchema = z.object({
  access_token: z
    .string()
    .optional()
    .describe(
      'The API key, for clients that cannot send headers (EventSource); prefer the Authorization header',
    ),
});
const STREAM_ERRORS = {
  503: 'Temporal unavailable, the API shutting down, or STEPWISE_STREAM_MAX_SUBSCRIBERS streams already open',
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
 * unsubscribes when the client leaves.
 */
class SseStream implements Subscriber {
  private pending: StreamEvent[] | null = [];
  private endPending = false;
  private lastId = -Infinity;
  private lastWrite = Date.now();
  private heartbeat: NodeJS.Timeout | null = null;
  private done = false;
  private subscription: Subscription<unknown> | null = null;

  constructor(
    private readonly request: FastifyRequest,
    private readonly reply: FastifyReply,
    private readonly heartbeatMs: number,
  ) {}

  send(events: StreamEvent[]): void {
    if (this.pending) this.pending.push(...events);
    else this.write(events);
  }

  end(): void {
    if (this.pending) this.endPending = true;
    else this.close();
  }

  /** Starts the response: headers, the first events (unless the client has them), then whatever came meanwhile. */
  open(subscription: Subscription<unknown>, first: StreamEvent[], lastEventId: number | null): void {
    this.subscription = subscription;
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
    res.write(': stream open\n\n');
    this.write(first);
    const pending = this.pending ?? [];
    this.pending = null;
    this.write(pending);
    this.request.raw.on('close', () => this.close());
    res.on('close', () => this.close());
    if (this.endPending || subscription.closed) return this.close();
    this.heartbeat = setInterval(() => {
      if (Date.now() - this.lastWrite >= this.heartbeatMs - 5) this.raw(': heartbeat\n\n');
    }, this.heartbeatMs);
    this.heartbeat.unref();
  }

  private write(events: StreamEvent[]): void {
    // Only newer versions: what a reconnecting client has (Last-Event-ID), or the buffer repeated.
    const fresh = events.filter((e) => e.id > this.lastId || (e.id === this.lastId && e.event === 'closed'));
    if (fresh.length === 0) return;
    this.lastId = Math.max(this.lastId, ...fresh.map((e) => e.id));
    this.raw(fresh.map(frame).join(''));
  }

  private raw(text: string): void {
    if (this.done) return;
    this.lastWrite = Date.now();
    this.reply.raw.write(text);
  }

  private close(): void {
    if (this.done) return;
    this.done = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.subscription?.unsubscribe();
    if (!this.reply.raw.writableEnded) this.reply.raw.end();
  }
}

/** `Last-Event-ID` as a version; anything else is ignored (the client gets the current state). */
function parseLastEventId(header: string | undefined): number | null {
  if (header === undefined || !/^\d{1,16}$/.test(header.trim())) return null;
  return Number(header.trim());
}

@Controller('api')
export class EventsController {
  constructor(private readonly hub: EventHub) {}

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
    const stream = new SseStream(request, reply, this.hub.heartbeatMs);
    const sub = await this.hub.subscribeJob(jobId, stream);
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
    const stream = new SseStream(request, reply, this.hub.heartbeatMs);
    const sub = await this.hub.subscribeList(filters, stream);
    // Always the snapshot: a list's events are only meaningful on top of it.
    stream.open(sub, [{ event: 'snapshot', id: sub.version, data: { jobs: sub.current } }], null);
  }
}
