/**
 * Worker deployments as an operator sees them: list them, describe one (its versions, which is
 * current, which drain), describe one version (its task queues and drainage), and make a build the
 * current version. Thin wrappers over Temporal's WorkflowService calls (the same ones
 * `temporal worker deployment …` makes), used by `stepwise deployment` and the tests.
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

type Timestamp =
  { seconds?: { toNumber(): number } | number | null; nanos?: number | null } | null | undefined;

/** One build (worker deployment version) of a deployment. */
export interface DeploymentVersionSummary {
  buildId: string;
  /** `current`, `ramping`, `draining`, `drained`, `inactive` (Temporal's version status, lower case). */
  status: string;
  /**
   * `draining` while open pinned jobs still run on it, `drained` once none do (then its workers
   * may stop), null while it is current or ramping. Temporal refreshes it every few minutes
   * (`matching.wv.VersionDrainageStatusRefreshInterval`, 3 minutes by default).
   */
  drainage: 'draining' | 'drained' | null;
  createdAt: string | null;
  currentSince: string | null;
}

/** A deployment: its versions and which one takes new jobs. */
export interface DeploymentDescription {
  name: string;
  /** The build new jobs (and auto-upgrading ones) go to; null: none (jobs wait for unversioned workers). */
  currentBuildId: string | null;
  rampingBuildId: string | null;
  versions: DeploymentVersionSummary[];
  createdAt: string | null;
  lastModifierIdentity: string | null;
}

/** One version in detail: what `describe-version` shows. */
export interface DeploymentVersionDescription extends DeploymentVersionSummary {
  deploymentName: string;
  /** The task queues its workers poll, with their kind (`workflow`, `activity`), by name then kind. */
  taskQueues: { name: string; type: string }[];
  drainageCheckedAt: string | null;
}

const iso = (t: Timestamp): string | null => {
  if (!t || t.seconds == null) return null;
  const seconds = typeof t.seconds === 'number' ? t.seconds : t.seconds.toNumber();
  return new Date(seconds * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString();
};

/** `WORKER_DEPLOYMENT_VERSION_STATUS_CURRENT` → `current`. */
function enumName(
  values: Record<string, string | number>,
  value: number | null | undefined,
  prefix: string,
): string {
  const name = typeof value === 'number' ? values[value] : undefined;
  return typeof name === 'string' ? name.replace(prefix, '').toLowerCase() : 'unspecified';
}

const versionStatus = (v: number | null | undefined): string =>
  enumName(
    temporal.api.enums.v1.WorkerDeploymentVersionStatus as unknown as Record<string, string | number>,
    v,
    'WORKER_DEPLOYMENT_VERSION_STATUS_',
  );

function drainage(v: number | null | undefined): DeploymentVersionSummary['drainage'] {
  const name = enumName(
    temporal.api.enums.v1.VersionDrainageStatus as unknown as Record<string, string | number>,
    v,
    'VERSION_DRAINAGE_STATUS_',
  );
  return name === 'draining' || name === 'drained' ? name : null;
}

/** The deployments of the namespace, by name. */
export async function listDeployments(client: Client): Promise<DeploymentDescription[]> {
  const out: DeploymentDescription[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const res = await client.workflowService.listWorkerDeployments({
      namespace: client.options.namespace,
      pageSize: 100,
      nextPageToken,
    });
    for (const d of res.workerDeployments ?? []) {
      const summaries = [d.currentVersionSummary, d.rampingVersionSummary, d.latestVersionSummary];
      const seen = new Set<string>();
      out.push({
        name: d.name ?? '',
        currentBuildId: d.routingConfig?.currentDeploymentVersion?.buildId || null,
        rampingBuildId: d.routingConfig?.rampingDeploymentVersion?.buildId || null,
        // Only the current, ramping and latest versions come with a listing: describe for all.
        versions: summaries.flatMap((s) => {
          const buildId = s?.deploymentVersion?.buildId;
          if (!s || !buildId || seen.has(buildId)) return [];
          seen.add(buildId);
          return [summaryOf(s)];
        }),
        createdAt: iso(d.createTime),
        lastModifierIdentity: null,
      });
    }
    nextPageToken = res.nextPageToken?.length ? res.nextPageToken : undefined;
  } while (nextPageToken);
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function summaryOf(
  s: temporal.api.deployment.v1.WorkerDeploymentInfo.IWorkerDeploymentVersionSummary,
): DeploymentVersionSummary {
  return {
    buildId: s.deploymentVersion?.buildId ?? '',
    status: versionStatus(s.status),
    drainage: drainage(s.drainageInfo?.status ?? s.drainageStatus),
    createdAt: iso(s.createTime),
    currentSince: iso(s.currentSinceTime),
  };
}

/** One deployment with all its versions; throws the server's NOT_FOUND when there is none of that name. */
export async function describeDeployment(client: Client, name: string): Promise<DeploymentDescription> {
  return (await describeWithToken(client, name)).description;
}

/** {@link describeDeployment}, with the token that makes a change conditional on this state. */
async function describeWithToken(
  client: Client,
  name: string,
): Promise<{ description: DeploymentDescription; conflictToken: Uint8Array | undefined }> {
  const res = await client.workflowService.describeWorkerDeployment({
    namespace: client.options.namespace,
    deploymentName: name,
  });
  return {
    description: descriptionOf(name, res.workerDeploymentInfo),
    conflictToken: res.conflictToken?.length ? res.conflictToken : undefined,
  };
}

function descriptionOf(
  name: string,
  info: temporal.api.deployment.v1.IWorkerDeploymentInfo | null | undefined,
): DeploymentDescription {
  return {
    name: info?.name ?? name,
    currentBuildId: info?.routingConfig?.currentDeploymentVersion?.buildId || null,
    rampingBuildId: info?.routingConfig?.rampingDeploymentVersion?.buildId || null,
    versions: (info?.versionSummaries ?? []).map(summaryOf),
    createdAt: iso(info?.createTime),
    lastModifierIdentity: info?.lastModifierIdentity || null,
  };
}

/** One version of a deployment: its status, drainage and task queues. */
export async function describeDeploymentVersion(
  client: Client,
  deploymentName: string,
  buildId: string,
): Promise<DeploymentVersionDescription> {
  const res = await client.workflowService.describeWorkerDeploymentVersion({
    namespace: client.options.namespace,
    deploymentVersion: { deploymentName, buildId },
  });
  const info = res.workerDeploymentVersionInfo;
  const taskQueueType = temporal.api.enums.v1.TaskQueueType as unknown as Record<string, string | number>;
  return {
    deploymentName,
    buildId,
    status: versionStatus(info?.status),
    drainage: drainage(info?.drainageInfo?.status),
    drainageCheckedAt: iso(info?.drainageInfo?.lastCheckedTime),
    createdAt: iso(info?.createTime),
    currentSince: iso(info?.currentSinceTime),
    // Sorted: Temporal lists them in no stable order, and operators (and scripts) compare answers.
    taskQueues: (info?.taskQueueInfos ?? [])
      .map((q) => ({ name: q.name ?? '', type: enumName(taskQueueType, q.type, 'TASK_QUEUE_TYPE_') }))
      .sort((a, b) => a.name.localeCompare(b.name) || a.type.localeCompare(b.type)),
  };
}

/** Options of {@link setCurrentVersion}. */
export interface SetCurrentVersionOptions {
  /** Who made the change (recorded by Temporal as the deployment's last modifier). */
  identity?: string;
  /**
   * Make it current even when some task queue of the current version is polled by none of this
   * version's workers (Temporal refuses by default: those queues' tasks would find no worker).
   * @default false
   */
  ignoreMissingTaskQueues?: boolean;
  /** Refuse the change (FAILED_PRECONDITION) if the deployment changed since the describe that gave this token. */
  conflictToken?: Uint8Array;
}

/**
 * Makes `buildId` the deployment's current version: new jobs, and auto-upgrading ones at their
 * next workflow task, go to its workers; pinned jobs stay on the build they started on, which
 * drains. The version must exist (its workers have polled). Returns the previous current build id.
 */
export async function setCurrentVersion(
  client: Client,
  deploymentName: string,
  buildId: string,
  options: SetCurrentVersionOptions = {},
): Promise<{ previousBuildId: string | null }> {
  const res = await client.workflowService.setWorkerDeploymentCurrentVersion({
    namespace: client.options.namespace,
    deploymentName,
    buildId,
    identity: options.identity ?? client.options.identity,
    ignoreMissingTaskQueues: options.ignoreMissingTaskQueues ?? false,
    conflictToken: options.conflictToken,
  });
  return { previousBuildId: res.previousDeploymentVersion?.buildId || null };
}

/** When a versioned worker makes its own build current (`STEPWISE_WORKER_SET_CURRENT`). */
export type SetCurrentPolicy = 'always' | 'if-none' | 'never';

/** What {@link settleWorkerVersion} did, for the worker's log. */
export type WorkerVersionOutcome =
  | { kind: 'made-current'; previousBuildId: string | null }
  | { kind: 'current' }
  | { kind: 'not-current'; currentBuildId: string | null }
  | { kind: 'unknown'; error: string };

/**
 * Run by a versioned worker once it polls. Under `always` it makes its own build the deployment's
 * current version (`npm start`: one build at a time); under `if-none`, only when the deployment has
 * no current version yet (a first deploy: no job could run otherwise); under `never` it changes
 * nothing. Then it tells whether its build is current, so the log can say what an operator still has
 * to do. Temporal knows a version only once its workers have polled: until then (at most
 * `timeoutMs`) it tries again. The change is conditional on the state it read (a conflict token):
 * two workers starting at once cannot undo each other's decision.
 */
export async function settleWorkerVersion(
  client: Client,
  version: { deploymentName: string; buildId: string },
  options: { setCurrent: SetCurrentPolicy; identity?: string; timeoutMs?: number; signal?: AbortSignal },
): Promise<WorkerVersionOutcome> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let error = 'not tried';
  while (Date.now() < deadline && !options.signal?.aborted) {
    try {
      const { description, conflictToken } = await describeWithToken(client, version.deploymentName);
      const known = description.versions.some((v) => v.buildId === version.buildId);
      if (known) {
        const current = description.currentBuildId;
        if (current === version.buildId) return { kind: 'current' };
        const promote =
          options.setCurrent === 'always' || (options.setCurrent === 'if-none' && current === null);
        if (!promote) return { kind: 'not-current', currentBuildId: current };
        const { previousBuildId } = await setCurrentVersion(client, version.deploymentName, version.buildId, {
          identity: options.identity,
          conflictToken,
        });
        return { kind: 'made-current', previousBuildId };
      }
      error = `version ${version.buildId} not registered yet`;
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return { kind: 'unknown', error };
}
