/**
 * Schedules (`/api/schedules`, docs/schedules.md): the request bodies and the answers, declared
 * once as zod schemas registered under their ids (`/openapi.json` components, the dashboard's
 * types). A schedule is a Temporal Schedule whose action starts a job of one of the app's types; its
 * runs are ordinary jobs.
 */
import { z } from 'zod';
import { jobStatusSchema } from '../../../workflows/job-state';
import { named } from '../../../workflows/schema-registry';

/** The shortest interval between a schedule's runs (seconds). */
export const SCHEDULE_MIN_INTERVAL_SECONDS = 1;
/** The longest interval between a schedule's runs (seconds): a year. */
export const SCHEDULE_MAX_INTERVAL_SECONDS = 366 * 24 * 3600;
/** The most jitter a schedule may add to each run's time (seconds): a day. */
export const SCHEDULE_MAX_JITTER_SECONDS = 24 * 3600;
/** The longest note of a pause, an unpause or a new schedule (characters). */
export const SCHEDULE_MAX_NOTE_LENGTH = 500;
/** The longest time range one backfill covers (days). */
export const SCHEDULE_MAX_BACKFILL_DAYS = 31;
/** The most runs one backfill may start (estimated from the schedule's spacing). */
export const SCHEDULE_MAX_BACKFILL_RUNS = 1000;
/** Schedules per `GET /api/schedules` page, at most. */
export const SCHEDULE_MAX_PAGE_SIZE = 50;

/**
 * A schedule's id: letters, digits and `. _ : -`, at most 64 characters. Its runs' job ids are
 * `<type>-<scheduleId>-<time>` (Temporal appends the time, e.g. `2026-12-06T02:10:05Z`), so they
 * stay valid job ids, and never collide with a sub-job id (no `/`).
 */
export const scheduleIdSchema = named(
  'ScheduleId',
  z
    .string()
    .min(1)
    .max(64)
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._:-]*$/,
      'use letters, digits and . _ : - (starting with a letter or digit)',
    ),
  'input',
);

/** What a run does when the previous run of the schedule still runs (Temporal's overlap policies). */
export const SCHEDULE_OVERLAP_POLICIES = [
  'skip',
  'buffer_one',
  'buffer_all',
  'cancel_other',
  'terminate_other',
  'allow_all',
] as const;
export type ScheduleOverlap = (typeof SCHEDULE_OVERLAP_POLICIES)[number];

export const scheduleOverlapSchema = named(
  'ScheduleOverlap',
  z
    .enum(SCHEDULE_OVERLAP_POLICIES)
    .describe(
      'When a run is due while an earlier one still runs: `skip` it (default), `buffer_one`/`buffer_all` (start after it), `cancel_other`/`terminate_other` (stop the running one first), `allow_all` (run both)',
    ),
);

/**
 * A cron expression as Temporal reads it: 5 fields (minute hour day-of-month month day-of-week), 6
 * (… year) or 7 (second first), or `@yearly`, `@monthly`, `@weekly`, `@daily`, `@hourly`. Checked
 * for its shape here; Temporal checks the values (a 400 on `cron` when it refuses).
 */
const CRON_FIELD = '[0-9A-Za-z*/,?-]+';
const CRON_PATTERN = new RegExp(
  `^(?:@(?:yearly|annually|monthly|weekly|daily|hourly)|${CRON_FIELD}(?: ${CRON_FIELD}){4,6})$`,
);
export const cronSchema = z
  .string()
  .max(100)
  .regex(
    CRON_PATTERN,
    'a cron expression: 5–7 space-separated fields (minute hour day-of-month month day-of-week [year]; 7 fields start with seconds) or @daily, @hourly, …',
  )
  .describe(
    'Cron expression: `minute hour day-of-month month day-of-week`, optionally a year after it, or 7 fields with seconds first; or `@daily`, `@hourly`, …. In `timeZone`.',
  );

/** An IANA time zone the API's runtime knows (Temporal's server loads the same database). */
export const timeZoneSchema = z
  .string()
  .min(1)
  .max(64)
  .refine(isTimeZone, 'an IANA time zone, such as UTC or Europe/Berlin')
  .describe('IANA time zone the cron expression is read in (`UTC`, `Europe/Berlin`, …)');

/** True for a time zone name `Intl` accepts. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const isoInput = z.iso
  .datetime({ offset: true })
  .transform((v) => new Date(v).toISOString())
  .describe('ISO 8601 time with its zone (`Z` or an offset)');
const note = z.string().max(SCHEDULE_MAX_NOTE_LENGTH);
const intervalSeconds = z
  .number()
  .int()
  .min(SCHEDULE_MIN_INTERVAL_SECONDS)
  .max(SCHEDULE_MAX_INTERVAL_SECONDS)
  .describe(
    `Seconds between runs (${SCHEDULE_MIN_INTERVAL_SECONDS} to ${SCHEDULE_MAX_INTERVAL_SECONDS}), counted from the Unix epoch: 3600 runs on the hour`,
  );
const jitterSeconds = z
  .number()
  .int()
  .min(0)
  .max(SCHEDULE_MAX_JITTER_SECONDS)
  .describe('Each run starts up to this many seconds after its time, at random (spreads load)');
const priority = z
  .number()
  .int()
  .min(1)
  .max(5)
  .describe('Temporal task priority of the runs: 1 highest, 5 lowest');

/** The fields of a schedule's timing and runs, shared by create and update. */
const scheduleFields = {
  cron: cronSchema.optional(),
  intervalSeconds: intervalSeconds.optional(),
  timeZone: timeZoneSchema.optional(),
  overlap: scheduleOverlapSchema.optional(),
  jitterSeconds: jitterSeconds.optional(),
  startAt: isoInput.nullable().optional().describe('No run before this time (null: none)'),
  endAt: isoInput.nullable().optional().describe('No run after this time (null: none)'),
  priority: priority.optional(),
};

/** Exactly one of `cron` and `intervalSeconds` (or, on update, at most one); `endAt` after `startAt`. */
function checkTiming(
  b: { cron?: string; intervalSeconds?: number; startAt?: string | null; endAt?: string | null },
  ctx: z.RefinementCtx,
  required: boolean,
): void {
  if (b.cron !== undefined && b.intervalSeconds !== undefined) {
    for (const path of ['cron', 'intervalSeconds'])
      ctx.addIssue({
        code: 'custom',
        path: [path],
        message: 'give a cron expression or an interval, not both',
      });
  } else if (required && b.cron === undefined && b.intervalSeconds === undefined) {
    ctx.addIssue({ code: 'custom', path: ['cron'], message: 'give a cron expression or intervalSeconds' });
  }
  if (b.startAt && b.endAt && b.endAt <= b.startAt) {
    ctx.addIssue({ code: 'custom', path: ['endAt'], message: 'must be later than startAt' });
  }
}

/** Body of `POST /api/schedules`. The input is then checked against its type's schema, as a job start's. */
export const createScheduleBodySchema = named(
  'CreateScheduleBody',
  z
    .object({
      scheduleId: scheduleIdSchema.optional().describe('Default: `sched-<uuid>`'),
      type: z.string().min(1).max(100).describe('The job type each run starts'),
      input: z.unknown().default({}).describe('The input of every run, checked like a job start’s'),
      ...scheduleFields,
      paused: z.boolean().default(false).describe('Create it paused'),
      note: note.optional().describe('A note on the schedule (e.g. why it is created paused)'),
    })
    .strict()
    .superRefine((b, ctx) => checkTiming(b, ctx, true)),
  'input',
);
export type CreateScheduleBody = z.output<typeof createScheduleBodySchema>;

/**
 * Body of `PATCH /api/schedules/:scheduleId`: the fields given replace the schedule's (a `cron`
 * replaces an interval and the other way round; `null` clears `startAt`/`endAt`). The job type
 * cannot change: create another schedule.
 */
export const updateScheduleBodySchema = named(
  'UpdateScheduleBody',
  z
    .object({
      input: z.unknown().optional().describe('A new input, checked like a job start’s'),
      ...scheduleFields,
    })
    .strict()
    .superRefine((b, ctx) => checkTiming(b, ctx, false)),
  'input',
);
export type UpdateScheduleBody = z.output<typeof updateScheduleBodySchema>;

/** Body of pause and unpause: a note, kept on the schedule (Temporal's note) and in the audit trail. */
export const scheduleNoteBodySchema = named(
  'ScheduleNoteBody',
  z
    .object({ note: note.optional().describe('Why (shown on the schedule)') })
    .strict()
    .default({}),
  'input',
);
export type ScheduleNoteBody = z.output<typeof scheduleNoteBodySchema>;

/** Body of `POST /api/schedules/:scheduleId/trigger`. */
export const triggerScheduleBodySchema = named(
  'TriggerScheduleBody',
  z
    .object({
      overlap: scheduleOverlapSchema
        .optional()
        .describe('Overlap policy for this run only; default `allow_all` (it starts now whatever runs)'),
    })
    .strict()
    .default({}),
  'input',
);
export type TriggerScheduleBody = z.output<typeof triggerScheduleBodySchema>;

/** Body of `POST /api/schedules/:scheduleId/backfill`: runs the times in `[start, end]` now. */
export const backfillScheduleBodySchema = named(
  'BackfillScheduleBody',
  z
    .object({
      start: isoInput.describe('The range’s start (inclusive)'),
      end: isoInput.describe(
        `The range’s end (inclusive); at most ${SCHEDULE_MAX_BACKFILL_DAYS} days after start, and at most ${SCHEDULE_MAX_BACKFILL_RUNS} runs in it`,
      ),
      overlap: scheduleOverlapSchema.optional().describe('Default: the schedule’s own policy'),
    })
    .strict()
    .superRefine((b, ctx) => {
      const span = Date.parse(b.end) - Date.parse(b.start);
      if (span <= 0) ctx.addIssue({ code: 'custom', path: ['end'], message: 'must be later than start' });
      else if (span > SCHEDULE_MAX_BACKFILL_DAYS * 24 * 3600 * 1000)
        ctx.addIssue({
          code: 'custom',
          path: ['end'],
          message: `at most ${SCHEDULE_MAX_BACKFILL_DAYS} days after start`,
        });
    }),
  'input',
);
export type BackfillScheduleBody = z.output<typeof backfillScheduleBodySchema>;

/** `GET /api/schedules`: paging. */
export const listSchedulesQuerySchema = z
  .object({
    pageSize: z.coerce.number().int().min(1).max(SCHEDULE_MAX_PAGE_SIZE).default(20),
    pageToken: z.string().max(4096).optional(),
  })
  .strict();
export type ListSchedulesQuery = z.output<typeof listSchedulesQuerySchema>;

const isoTime = z.string().describe('ISO 8601 time (UTC)');

export const scheduleRunSchema = named(
  'ScheduleRun',
  z
    .object({
      jobId: z.string().describe('The run’s job (`<type>-<scheduleId>-<time>`)'),
      runId: z.string(),
      scheduledAt: isoTime.describe('The time Temporal scheduled it for, jitter included'),
      startedAt: isoTime.describe('When Temporal started it'),
      status: jobStatusSchema
        .nullable()
        .describe('The job’s status as the job list shows it; null until the list shows the job'),
      closedAt: isoTime.nullable(),
    })
    .describe('A run of a schedule: an ordinary job'),
);
export type ScheduleRun = z.output<typeof scheduleRunSchema>;

export const scheduleSchema = named(
  'Schedule',
  z
    .object({
      scheduleId: z.string(),
      type: z.string().describe('The job type each run starts'),
      input: z.unknown().describe('The input each run starts with (after its schema’s defaults)'),
      cron: z.string().nullable().describe('The cron expression; null for an interval schedule'),
      intervalSeconds: z.number().nullable().describe('Seconds between runs; null for a cron schedule'),
      timeZone: z.string(),
      overlap: scheduleOverlapSchema,
      jitterSeconds: z.number(),
      startAt: isoTime.nullable(),
      endAt: isoTime.nullable(),
      priority: z.number().int().describe('1 highest, 5 lowest'),
      paused: z.boolean(),
      note: z.string().nullable().describe('The last note (of a pause, an unpause, the creation)'),
      createdBy: z.string().nullable().describe('Who created it: each run’s `startedBy`'),
      createdAt: isoTime,
      updatedAt: isoTime.nullable(),
      runsTaken: z.number().int().describe('Runs started so far (triggers and backfills included)'),
      runsSkipped: z.number().int().describe('Runs skipped because an earlier one still ran (`skip`)'),
      runsMissed: z.number().int().describe('Runs missed because Temporal was down past the catch-up window'),
      nextRuns: z.array(isoTime).describe('The next times it runs (up to 10; none while paused)'),
      recentRuns: z.array(scheduleRunSchema).describe('Its latest runs, newest first (up to 10)'),
      runningJobIds: z.array(z.string()).describe('Its runs that are still running'),
    })
    .describe('A schedule: a Temporal Schedule that starts a job of one type'),
);
export type Schedule = z.output<typeof scheduleSchema>;

export const scheduleListSchema = named(
  'ScheduleList',
  z.object({
    schedules: z.array(scheduleSchema),
    nextPageToken: z.string().nullable().describe('Pass as `pageToken` for the next page; null on the last'),
  }),
);
export type ScheduleList = z.output<typeof scheduleListSchema>;
