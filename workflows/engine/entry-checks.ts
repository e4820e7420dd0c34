/**
 * Checks of a run's own arguments at its entry. A run is started by the API, by a parent job or
 * by a recovery — or by anyone who can reach Temporal, with whatever arguments they like, so
 * nothing in `JobParams` is trusted for its shape. Pure, so unit tests check it without a server.
 */
import type { JobSummaryStats, RecoveryParams } from '../contracts';
import type { JobDefinition } from './definition';

const STAT_KEYS: readonly (keyof JobSummaryStats)[] = [
  'itemsProcessed',
  'itemsCreated',
  'itemsFailed',
  'totalErrors',
];

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Why `recovery` cannot be a recovery of `def`, or null when its shape is one `planRecovery`
 * produces: an attempt from 1, a `fromStep` among the steps, a run id, and carried results only
 * for steps of this job type, each `{ result, stats }` with counts for stats. What a carried
 * result holds is checked where it is used: every activity re-validates the paths and names its
 * arguments carry (see docs/security.md, "Files and paths").
 */
export function recoveryProblem(def: JobDefinition, recovery: unknown): string | null {
  if (!isObject(recovery)) return 'recovery must be an object';
  const { attempt, fromStep, previousRunId, carried } = recovery as Partial<
    Record<keyof RecoveryParams, unknown>
  >;
  if (typeof attempt !== 'number' || !Number.isInteger(attempt) || attempt < 1) {
    return 'recovery.attempt must be an integer >= 1';
  }
  const steps = def.steps.length;
  if (typeof fromStep !== 'number' || !Number.isInteger(fromStep) || fromStep < 1 || fromStep > steps) {
    return `recovery.fromStep must be an integer between 1 and ${steps}`;
  }
  if (typeof previousRunId !== 'string' || previousRunId.length < 1 || previousRunId.length > 200) {
    return 'recovery.previousRunId must be a run id';
  }
  if (!isObject(carried)) return 'recovery.carried must be an object';
  const keys = new Set(def.steps.map((s) => s.key));
  for (const [key, entry] of Object.entries(carried)) {
    const where = `recovery.carried[${JSON.stringify(key.slice(0, 100))}]`;
    if (!keys.has(key)) return `${where} is not a step of job type "${def.name}"`;
    if (!isObject(entry) || !('result' in entry)) return `${where} must be { result, stats }`;
    const extra = Object.keys(entry).find((k) => k !== 'result' && k !== 'stats');
    if (extra) return `${where} has an unknown field "${extra.slice(0, 50)}"`;
    const stats = entry.stats;
    if (stats !== null && stats !== undefined) {
      if (!isObject(stats)) return `${where}.stats must be an object or null`;
      // Only the counts the summary adds up are checked; other fields were never read.
      for (const k of STAT_KEYS) {
        const v = stats[k];
        if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
          return `${where}.stats.${k} must be a count`;
        }
      }
    }
  }
  return null;
}
