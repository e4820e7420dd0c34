/** Pure DAG checks and ordering for job definitions; no Temporal APIs, unit-tested directly. */

export interface DagNode {
  key: string;
  dependsOn: string[];
}

/** Thrown when a job definition is malformed; the message names the job type and the offending step. */
export class JobDefinitionError extends Error {
  constructor(jobType: string, detail: string) {
    super(`Invalid job definition "${jobType}": ${detail}`);
    this.name = 'JobDefinitionError';
  }
}

/**
 * Checks keys are unique and non-empty, dependencies exist and there is no cycle.
 * Returns the keys in a topological order that keeps declaration order where it can.
 */
export function validateDag(jobType: string, nodes: readonly DagNode[]): string[] {
  if (nodes.length === 0) throw new JobDefinitionError(jobType, 'a job needs at least one step');
  const seen = new Set<string>();
  for (const n of nodes) {
    if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(n.key)) {
      throw new JobDefinitionError(
        jobType,
        `step key "${n.key}" must start with a letter and use [A-Za-z0-9_-]`,
      );
    }
    if (seen.has(n.key)) throw new JobDefinitionError(jobType, `duplicate step key "${n.key}"`);
    seen.add(n.key);
  }
  for (const n of nodes) {
    for (const d of n.dependsOn) {
      if (!seen.has(d))
        throw new JobDefinitionError(jobType, `step "${n.key}" depends on unknown step "${d}"`);
      if (d === n.key) throw new JobDefinitionError(jobType, `step "${n.key}" depends on itself`);
    }
  }
  // Kahn's algorithm, always taking the earliest-declared ready node.
  const indegree = new Map(nodes.map((n) => [n.key, n.dependsOn.length]));
  const order: string[] = [];
  const done = new Set<string>();
  while (order.length < nodes.length) {
    const next = nodes.find((n) => !done.has(n.key) && indegree.get(n.key) === 0);
    if (!next) {
      const stuck = nodes.filter((n) => !done.has(n.key)).map((n) => n.key);
      throw new JobDefinitionError(
        jobType,
        `dependency cycle among steps ${stuck.map((k) => `"${k}"`).join(', ')}`,
      );
    }
    done.add(next.key);
    order.push(next.key);
    for (const n of nodes) {
      if (n.dependsOn.includes(next.key)) indegree.set(n.key, (indegree.get(n.key) ?? 0) - 1);
    }
  }
  return order;
}
