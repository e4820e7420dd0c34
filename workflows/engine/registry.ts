/**
 * The job types of this workflow bundle, by name, so a batch coordinator can compute its chunks'
 * inputs from its step's definition instead of carrying every one of them in its arguments. The
 * bundle entry (`workflows/index.ts`) registers the catalog when it loads.
 */
import type { JobDefinition } from './definition';

const types = new Map<string, JobDefinition>();

export function registerJobTypes(defs: readonly JobDefinition[]): void {
  for (const def of defs) types.set(def.name, def);
}

export function registeredJobType(name: string): JobDefinition | undefined {
  return types.get(name);
}
