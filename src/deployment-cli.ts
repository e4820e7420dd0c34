/**
 * `stepwise deployment …`: the worker deployments of Worker Deployment Versioning, for a rolling
 * deploy (docs/production.md, "Versioned deploys"). It connects like the worker and the API do
 * (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TLS, API key; docs/configuration.md), and the deployment
 * defaults to the one this environment's workers join (STEPWISE_WORKER_DEPLOYMENT, else the task
 * queue's name).
 *
 *   stepwise deployment list
 *   stepwise deployment describe [--deployment <name>]
 *   stepwise deployment describe-version --build-id <id> [--deployment <name>]
 *   stepwise deployment set-current --build-id <id> [--deployment <name>] [--ignore-missing-task-queues]
 *
 * `--json` prints the answer as JSON instead of lines.
 */
import type { Client } from '@temporalio/client';
import { loadConfigOrExit } from './config';
import { connectClient } from './temporal';
import {
  describeDeployment,
  describeDeploymentVersion,
  listDeployments,
  setCurrentVersion,
  type DeploymentDescription,
  type DeploymentVersionSummary,
} from './deployments';
import { defaultDeploymentName } from './worker-versioning';

const versionLine = (v: DeploymentVersionSummary): string =>
  `  ${v.buildId}  ${v.status}${v.drainage ? ` (${v.drainage})` : ''}${v.createdAt ? `  created ${v.createdAt}` : ''}`;

function deploymentLines(d: DeploymentDescription): string[] {
  return [
    `${d.name}: current ${d.currentBuildId ?? '(none: jobs go to unversioned workers)'}` +
      (d.rampingBuildId ? `, ramping ${d.rampingBuildId}` : ''),
    ...d.versions.map(versionLine),
  ];
}

/**
 * Runs one action; resolves with the lines (or JSON) it printed. Throws on a refusal from Temporal
 * (e.g. NOT_FOUND for an unknown deployment or build) with its message.
 */
export async function runDeploymentCommand(
  action: string,
  opts: Map<string, string | true>,
  print: (line: string) => void = console.log,
): Promise<void> {
  const config = loadConfigOrExit();
  const str = (name: string): string | undefined => {
    const v = opts.get(name);
    if (v === true) throw new Error(`--${name} needs a value`);
    return v;
  };
  const deployment =
    str('deployment') ??
    config.env.STEPWISE_WORKER_DEPLOYMENT ??
    defaultDeploymentName(config.temporal.taskQueue);
  const json = opts.has('json');
  const buildId = (): string => {
    const id = str('build-id');
    if (!id) throw new Error(`"deployment ${action}" needs --build-id <id>`);
    return id;
  };
  const client: Client = await connectClient(config.temporal);
  try {
    switch (action) {
      case 'list': {
        const all = await listDeployments(client);
        if (json) print(JSON.stringify(all, null, 2));
        else if (all.length === 0) print(`no worker deployments in namespace ${config.temporal.namespace}`);
        else for (const d of all) for (const line of deploymentLines(d)) print(line);
        return;
      }
      case 'describe': {
        const d = await describeDeployment(client, deployment);
        if (json) print(JSON.stringify(d, null, 2));
        else for (const line of deploymentLines(d)) print(line);
        return;
      }
      case 'describe-version': {
        const v = await describeDeploymentVersion(client, deployment, buildId());
        if (json) {
          print(JSON.stringify(v, null, 2));
          return;
        }
        print(`${v.deploymentName} build ${v.buildId}: ${v.status}`);
        print(
          `  drainage: ${v.drainage ?? 'n/a (current or ramping)'}` +
            (v.drainageCheckedAt ? ` (checked ${v.drainageCheckedAt})` : ''),
        );
        for (const q of v.taskQueues) print(`  task queue ${q.name} (${q.type})`);
        if (v.drainage === 'drained') print('  no pinned job runs on it any more: its workers may stop');
        return;
      }
      case 'set-current': {
        const id = buildId();
        const { previousBuildId } = await setCurrentVersion(client, deployment, id, {
          identity: `stepwise-cli@${process.pid}`,
          ignoreMissingTaskQueues: opts.has('ignore-missing-task-queues'),
        });
        if (json) print(JSON.stringify({ deployment, currentBuildId: id, previousBuildId }, null, 2));
        else
          print(
            `${deployment}: current build is now ${id} (was ${previousBuildId ?? 'none'}); ` +
              'pinned jobs of the previous build finish there: stop its workers once it is drained ' +
              `("stepwise deployment describe-version --deployment ${deployment} --build-id ${previousBuildId ?? '<id>'}")`,
          );
        return;
      }
      default:
        throw new Error(`unknown deployment action "${action}"`);
    }
  } finally {
    await client.connection.close();
  }
}
