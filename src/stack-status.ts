/**
 * The status of the processes a launcher supervises (`npm start`, `npm run cluster`): each
 * process's state, pid, restarts and last exit. The launcher's supervisor (src/supervisor.ts)
 * produces it and prints it; the API it starts receives every change over its IPC channel and
 * shows it in its readiness answer (`GET /health/ready` → `stack`), which the dashboard reads for
 * its banner. A process started by anything else (systemd, compose, a test) has no stack status.
 */
import { z } from 'zod';
import { named } from '../workflows/schema-registry';

/** A process's state: `up` (ready), `starting`, `restarting` (backoff before the next start), `waiting` (for a process it depends on), `stopping`, `stopped`. */
export const PROCESS_STATES = ['starting', 'up', 'restarting', 'waiting', 'stopping', 'stopped'] as const;
export type ProcessState = (typeof PROCESS_STATES)[number];

export const processExitSchema = named(
  'ProcessExit',
  z.object({
    code: z.number().int().nullable(),
    signal: z.string().nullable(),
    at: z.string().describe('ISO 8601 time (UTC)'),
    /** What happened, e.g. "killed by SIGKILL", "exited with code 1", "not ready within 60 s". Never output lines. */
    reason: z.string(),
  }),
);
export type ProcessExitInfo = z.infer<typeof processExitSchema>;

export const processStatusSchema = named(
  'ProcessStatus',
  z.object({
    name: z.string(),
    state: z.enum(PROCESS_STATES),
    pid: z.number().int().nullable(),
    /** Restarts after an unexpected exit since the launcher started (planned restarts of `npm run dev` not counted). */
    restarts: z.number().int().min(0),
    /** When it entered its state. */
    since: z.string().describe('ISO 8601 time (UTC)'),
    lastExit: processExitSchema.nullable(),
  }),
);
export type ProcessStatus = z.infer<typeof processStatusSchema>;

export const stackStatusSchema = named(
  'StackStatus',
  z
    .object({
      /** `ok`: every process is up; `degraded`: one is starting, restarting or waiting; `unknown`: the launcher is gone. */
      status: z.enum(['ok', 'degraded', 'unknown']),
      launcher: z.string(),
      processes: z.array(processStatusSchema),
    })
    .describe('The processes of the launcher that started this API (npm start, npm run cluster)'),
);
export type StackStatus = z.infer<typeof stackStatusSchema>;

/** What a launcher sends its API over IPC. */
export interface StackStatusMessage {
  stepwise: 'stack-status';
  status: StackStatus;
}

export const isStackStatusMessage = (m: unknown): m is StackStatusMessage =>
  typeof m === 'object' &&
  m !== null &&
  (m as { stepwise?: unknown }).stepwise === 'stack-status' &&
  stackStatusSchema.safeParse((m as { status?: unknown }).status).success;

let latest: StackStatus | null = null;
let listening = false;

/**
 * In a process a launcher started with an IPC channel: keeps the latest status it sends, and
 * marks it `unknown` when the channel closes (the launcher is gone). Without a channel: nothing.
 */
export function listenForStackStatus(): void {
  if (listening || typeof process.send !== 'function') return;
  listening = true;
  process.on('message', (m: unknown) => {
    if (isStackStatusMessage(m)) latest = m.status;
  });
  process.once('disconnect', () => {
    latest = latest ? { ...latest, status: 'unknown' } : null;
  });
  // The channel must not keep a stopping API alive.
  process.channel?.unref();
}

/** The latest status from the launcher, or null when this process was not started by one. */
export const stackStatus = (): StackStatus | null => latest;

/** Sets the status directly (tests of the API and the dashboard, which run the API in-process). */
export function setStackStatus(status: StackStatus | null): void {
  latest = status;
}
