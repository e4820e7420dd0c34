/**
 * The client's error vocabulary. A {@link StepwiseError} is a refusal: the request was well-formed
 * but does not fit (no such job, a conflicting input, a job that cannot be paused now); nothing
 * changed. A {@link JobOperationError} is a Temporal call that failed while the client was doing
 * something (Temporal unreachable, no worker answering in time); its `cause` is Temporal's error.
 * The API's exception filter maps both to HTTP: each refusal by its {@link StepwiseError.code}.
 */
import type { ZodError } from 'zod';

/** Where in the request a refusal points (`['input', 'files', 0]`), and what is wrong there. */
export interface Issue {
  path: (string | number)[];
  message: string;
}

/** Zod issues as `{path, message}`; an unknown key gets its own path, so callers see where it is. */
export function zodIssues(err: ZodError, prefix: (string | number)[] = []): Issue[] {
  return err.issues.flatMap((i) => {
    const path = [...prefix, ...i.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
    if (i.code === 'unrecognized_keys') {
      return i.keys.map((k) => ({ path: [...path, k], message: `Unrecognized key "${k}"` }));
    }
    return [{ path, message: i.message }];
  });
}

/** The kinds of refusal, one per error class (the API answers each with its own HTTP status). */
export type StepwiseErrorCode =
  | 'JobNotFound'
  | 'UnknownJobType'
  | 'InvalidArgument'
  | 'InvalidJobInput'
  | 'JobInputTooLarge'
  | 'JobConflict'
  | 'JobNotControllable'
  | 'ApprovalForbidden'
  | 'ScheduleNotFound'
  | 'ScheduleConflict';

/**
 * A request the client refused, or that Temporal or the job's workflow refused, without changing
 * anything. Catch the subclasses to tell them apart, or switch on {@link code}.
 */
export abstract class StepwiseError extends Error {
  /** Which refusal this is (the class's name). */
  abstract readonly code: StepwiseErrorCode;

  /**
   * @param message - what is wrong, in words a caller can act on
   * @param issues - where in the request it is wrong, when it is a part of it
   * @param options - the Temporal error behind the refusal, if any
   */
  constructor(
    message: string,
    readonly issues?: Issue[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  override get name(): string {
    return this.code;
  }
}

/**
 * No job with this id: Temporal has no workflow of that id, or the workflow is not a job of this
 * app (another workflow type, or the engine's batch coordinator). HTTP 404.
 */
export class JobNotFound extends StepwiseError {
  readonly code = 'JobNotFound';

  /**
   * @param jobId - the id asked for
   * @param message - default: `Job "<jobId>" not found`
   */
  constructor(
    readonly jobId: string,
    message = `Job "${jobId}" not found`,
    options?: { cause?: unknown },
  ) {
    super(message, undefined, options);
  }
}

/** A job type the app does not have. HTTP 404. */
export class UnknownJobType extends StepwiseError {
  readonly code = 'UnknownJobType';

  /**
   * @param type - the name asked for
   * @param known - the job types a caller may start, named in the message
   */
  constructor(
    readonly type: string,
    readonly known: readonly string[] = [],
  ) {
    super(
      known.length > 0
        ? `Unknown job type "${type}"; the job types are ${known.map((k) => `"${k}"`).join(', ')} (GET /api/job-types)`
        : `Unknown job type "${type}"`,
    );
  }
}

/**
 * A request with an argument that cannot be used: an internal sub-job type to start, an unknown
 * type to list by, a page token of another listing, a step out of range to retry from. `issues`
 * name the argument. HTTP 400.
 */
export class InvalidArgument extends StepwiseError {
  readonly code: 'InvalidArgument' | 'InvalidJobInput' = 'InvalidArgument';

  constructor(message: string, issues: Issue[]) {
    super(message, issues);
  }
}

/**
 * A job input its type refuses: its schema's issues (paths start with `input`), or JSON nested
 * deeper than the engine accepts. HTTP 400.
 */
export class InvalidJobInput extends InvalidArgument {
  override readonly code = 'InvalidJobInput';
}

/** A job input over the input budget (`maxInputBytes`, STEPWISE_MAX_INPUT_BYTES). HTTP 413. */
export class JobInputTooLarge extends StepwiseError {
  readonly code = 'JobInputTooLarge';

  /**
   * @param bytes - the input's size as UTF-8 JSON
   * @param limit - the budget it is over
   */
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    const message = `Job input is ${bytes} bytes of JSON; the limit is ${limit} bytes (STEPWISE_MAX_INPUT_BYTES)`;
    super(message, [{ path: ['input'], message }]);
  }
}

/**
 * The request does not fit the job as it is: its id is taken by a job of another type or input,
 * it is still running (retry) or already closed, or another caller's retry won. HTTP 409.
 */
export class JobConflict extends StepwiseError {
  readonly code: 'JobConflict' | 'JobNotControllable' = 'JobConflict';

  /**
   * @param jobId - the job it is about
   * @param message - why
   * @param issues - the part of the request that conflicts (start: `type` or the `input` path)
   */
  constructor(
    readonly jobId: string,
    message: string,
    issues?: Issue[],
    options?: { cause?: unknown },
  ) {
    super(message, issues, options);
  }
}

/**
 * Pause, resume, cancel or terminate that the job cannot take now: it is closed, its workflow
 * cannot run (its workflow task keeps failing), or its update validator refused (already paused,
 * cancelling, over its control budget…). Nothing was sent or changed. HTTP 409.
 */
export class JobNotControllable extends JobConflict {
  override readonly code = 'JobNotControllable';

  /**
   * @param jobId - the job it is about
   * @param action - `pause`, `resume`, `cancel` or `terminate`
   * @param message - why (the workflow validator's own words when it refused)
   */
  constructor(
    jobId: string,
    readonly action: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(jobId, message, undefined, options);
  }
}

/**
 * A decision on an approval step by a caller whose role is below the step's (an operator on a step
 * only an admin may decide). Nothing was sent. HTTP 403.
 */
export class ApprovalForbidden extends StepwiseError {
  readonly code = 'ApprovalForbidden';

  /**
   * @param jobId - the job it is about
   * @param step - the approval step's key
   * @param required - the role the step needs
   * @param role - the caller's role
   */
  constructor(
    readonly jobId: string,
    readonly step: string,
    readonly required: string,
    readonly role: string,
  ) {
    super(
      `Step "${step}" of job "${jobId}" needs an ${required} to approve or reject it; your key's role is ${role}`,
    );
  }
}

/**
 * No schedule with this id: Temporal has none, or its action starts no job type of this app. HTTP 404.
 */
export class ScheduleNotFound extends StepwiseError {
  readonly code = 'ScheduleNotFound';

  /**
   * @param scheduleId - the id asked for
   * @param message - default: `Schedule "<scheduleId>" not found`
   */
  constructor(
    readonly scheduleId: string,
    message = `Schedule "${scheduleId}" not found`,
    options?: { cause?: unknown },
  ) {
    super(message, undefined, options);
  }
}

/** A schedule id that is taken (creating a schedule again under it). HTTP 409. */
export class ScheduleConflict extends StepwiseError {
  readonly code = 'ScheduleConflict';

  /**
   * @param scheduleId - the schedule it is about
   * @param message - why
   */
  constructor(
    readonly scheduleId: string,
    message: string,
    issues?: Issue[],
    options?: { cause?: unknown },
  ) {
    super(message, issues, options);
  }
}

/**
 * What the client was asking Temporal for when a call failed. The same Temporal error means
 * different things depending on it (a vanished workflow is "not found" for a lookup but a
 * conflict for a pause sent to a job that was running a moment ago).
 */
export type JobOperation =
  /** An update sent to a running job (pause, resume, cancel), bounded by a deadline. */
  | { kind: 'control'; jobId: string; action: string; deadlineMs: number }
  /** Starting a new run of a closed job under its id. */
  | { kind: 'retry'; jobId: string }
  /** Terminating the running run of a job. */
  | { kind: 'terminate'; jobId: string }
  /** The `jobState` query of a job's run, which a worker answers, bounded by a deadline. */
  | { kind: 'query'; jobId: string; deadlineMs: number }
  /** Listing jobs, with the page token the caller passed (if any). */
  | { kind: 'list'; jobId?: undefined; pageToken: boolean }
  /** Creating, reading, listing or changing a schedule (`scheduleId` absent for a listing). */
  | { kind: 'schedule'; jobId?: undefined; scheduleId?: string; action: string };

/**
 * A Temporal call that failed during {@link JobOperation} for a reason that is not a refusal:
 * Temporal unreachable or busy, no worker answering in time. The original error is its `cause`.
 */
export class JobOperationError extends Error {
  override name = 'JobOperationError';

  constructor(
    /** What the client was doing. */
    readonly operation: JobOperation,
    /** Temporal's error. */
    override readonly cause: unknown,
  ) {
    super(
      operation.kind === 'schedule'
        ? `${operation.action} of schedule${operation.scheduleId === undefined ? 's' : ` "${operation.scheduleId}"`} failed`
        : operation.jobId === undefined
          ? `${operation.kind} failed`
          : `${operation.kind} of job "${operation.jobId}" failed`,
      { cause },
    );
  }
}
