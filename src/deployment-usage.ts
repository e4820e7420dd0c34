/**
 * The `stepwise deployment` actions and their usage lines: what the command line checks before it
 * loads `deployment-cli.ts` (which connects to Temporal).
 */

/** The actions and the options each takes. */
export const DEPLOYMENT_ACTIONS: Readonly<Record<string, readonly string[]>> = {
  list: ['json'],
  describe: ['deployment', 'json'],
  'describe-version': ['deployment', 'build-id', 'json'],
  'set-current': ['deployment', 'build-id', 'ignore-missing-task-queues', 'json'],
};

export const DEPLOYMENT_USAGE = `  stepwise deployment list                                       the worker deployments of the namespace
  stepwise deployment describe [--deployment <name>]             a deployment's builds: current, draining, drained
  stepwise deployment describe-version --build-id <id> [--deployment <name>]
                                                                 one build: status, drainage, task queues
  stepwise deployment set-current --build-id <id> [--deployment <name>] [--ignore-missing-task-queues]
                                                                 send new jobs to that build (a versioned deploy)`;
