/**
 * Concurrency limits: what a job and its type's limiter (`stepwiseLimiter`, one workflow per type
 * and key) send each other, and what the limiter answers. Workflow-safe.
 *
 * A job over its type's limit asks the limiter for a slot (a signal-with-start, so the first job
 * starts the limiter), waits `queued` until the limiter grants it one, and gives it back when it
 * closes. The limiter grants in order of priority, then arrival, and takes back the slot of a job
 * that closed without giving it back (terminated, timed out) by looking whenever a job waits.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';

/** The workflow type of the limiters (never a job: it has no `JobType` and is not listed). */
export const LIMITER_TYPE = 'stepwiseLimiter';

/** Priority of a job that was started without one (Temporal's default: the middle of 1 … 5). */
export const DEFAULT_PRIORITY = 3;

/**
 * The limiter's workflow id for a task queue, job type and key:
 * `stepwise-limit:<type>:<queue length>:<queue>[:<key>]`. A limit holds per deployment (task
 * queue); the type name has no `:` and the queue's length is spelled out, so no two triples meet.
 */
export function limiterId(taskQueue: string, jobType: string, key: string | null): string {
  const base = `stepwise-limit:${jobType}:${taskQueue.length}:${taskQueue}`;
  return key === null ? base : `${base}:${key}`;
}

/** The limit a job runs under: its limiter, the limit, and its key (null: one limit for the type). */
export interface JobConcurrency {
  limiterId: string;
  limit: number;
  key: string | null;
}

/** What a limit counts, in messages: `job type "x"` or `job type "x", key "k"`. */
export function describeLimit(jobType: string, key: string | null): string {
  return key === null ? `job type "${jobType}"` : `job type "${jobType}", key "${key}"`;
}

/** A job asking for a slot (also its place in the queue). */
export interface SlotRequest {
  jobId: string;
  runId: string;
  /** 1 (highest) … 5 (lowest): the job's Temporal priority. */
  priority: number;
  /** When the job was started (ISO 8601): the queue's order within a priority. */
  arrivedAt: string;
  /** The limit the job's deployment sets (the latest request's limit is the one enforced). */
  limit: number;
}

/** A job giving its slot back, or leaving the queue (it closed, or was cancelled while queued). */
export interface SlotRelease {
  jobId: string;
  runId: string;
}

/** What the limiter tells a job. */
export interface SlotAnswer {
  /** `granted`: run now; `refused`: the queue is full (`reason` says so), the job fails. */
  outcome: 'granted' | 'refused';
  limiterId: string;
  reason?: string;
}

/** A job that holds a slot. */
export interface SlotHolder {
  jobId: string;
  runId: string;
  priority: number;
  /** When the slot was granted (ISO 8601). */
  since: string;
}

/** A job that waits, in the order slots go to. */
export interface SlotWaiter {
  jobId: string;
  runId: string;
  priority: number;
  arrivedAt: string;
  /** The limiter's own arrival counter: ties broken by who asked first. */
  seq: number;
}

/** The limiter's state: what its query answers and what it carries into a continued run. */
export interface LimiterState {
  jobType: string;
  key: string | null;
  limit: number;
  running: SlotHolder[];
  /** In the order slots go to: priority, then arrival. */
  queued: SlotWaiter[];
  seq: number;
}

/** The limiter's start argument (a continued run carries its state). */
export interface LimiterParams {
  jobType: string;
  key: string | null;
  limit: number;
  carried?: LimiterState;
}

/** Job → limiter: a slot, please (sent with signal-with-start). */
export const acquireSlotSignal = defineSignal<[SlotRequest]>('stepwiseAcquireSlot');
/** Job → limiter: done with the slot, or no longer waiting. */
export const releaseSlotSignal = defineSignal<[SlotRelease]>('stepwiseReleaseSlot');
/** Limiter → job: the answer to its request. */
export const slotAnswerSignal = defineSignal<[SlotAnswer]>('stepwiseSlotAnswer');
/** Watch → limiter: nobody has run or waited for the idle time; the limiter may end. */
export const limiterIdleSignal = defineSignal('stepwiseLimiterIdle');
/** The limiter's state: who runs, who waits in which order. */
export const limiterStateQuery = defineQuery<LimiterState>('stepwiseLimiterState');

/**
 * The task queue the limiters of jobs on `taskQueue` run their watches on, polled by a worker of its
 * own in every Stepwise worker process (`createWorker`). A watch runs for its limiter's whole life:
 * on the jobs' queue, one per key with active jobs would take the activity slots the jobs' steps
 * need, and enough keys would take them all.
 */
export const limiterWatchQueue = (taskQueue: string): string => `${taskQueue}${LIMITER_WATCH_QUEUE_SUFFIX}`;
/** See {@link limiterWatchQueue}. */
export const LIMITER_WATCH_QUEUE_SUFFIX = '-limiter-watch';

/** Jobs a limiter lets wait at once; one more is refused (its job fails, saying so). */
export const MAX_QUEUED_PER_LIMITER = 5_000;

/** The engine's activities for concurrency limits (`src/activity/limiter.ts`). */
export interface LimiterActivities {
  /** Sends the request to the type's limiter, starting the limiter if it does not run. */
  stepwiseEnterQueue(args: {
    limiterId: string;
    jobType: string;
    key: string | null;
    request: SlotRequest;
  }): Promise<void>;
  /**
   * The limiter's watch, run by the limiter it watches for as long as that run lives: every
   * `everyMs`, when jobs wait and every slot is held, it finds the holders that have closed and
   * sends the limiter their release signals; once nobody has run or waited for `idleMs`, it sends
   * the idle signal. Ends once the run has closed or continued as new.
   */
  stepwiseLimiterWatch(args: { everyMs: number; idleMs: number }): Promise<void>;
}
