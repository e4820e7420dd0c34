/**
 * Safe deploys with Worker Deployment Versioning, on the real dev server: build A of an app is the
 * current version of its deployment; jobs start on it and wait for an approval; build B, whose job
 * types have one step more, starts alongside and becomes current. Then the job of the pinned type
 * that started on A finishes on A, with A's steps (B's worker never sees it); the job of the
 * `auto_upgrade` type moves to B at its next workflow task and finishes with B's steps; a new job
 * runs on B. Each job's state names the build that ran it; the deploy is made with the compiled
 * `stepwise deployment` command, which then shows A draining behind B. The builds are the two
 * entries of `fixtures/versioning-build.ts`.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Worker } from '@temporalio/worker';
import type { StepwiseClient } from '../../src/client/client';
import {
  describeDeployment,
  describeDeploymentVersion,
  listDeployments,
  setCurrentVersion,
} from '../../src/deployments';
import type { JobState } from '../../workflows/contracts';
import {
  connectTestEnv,
  createTestWorker,
  expectJobStateInvariants,
  testClient,
  uniqueId,
  waitFor,
  waitForState,
  type TestEnv,
} from '../helpers';
import type { VersioningTestActivities } from './fixtures/versioning-build';
import appA from './fixtures/versioning-a';
import appB from './fixtures/versioning-b';

const execFileAsync = promisify(execFile);
let env: TestEnv;
const deploymentName = uniqueId('stepwise-vt');
const taskQueue = uniqueId('versioning-queue');
const buildA = `0.1.0+${uniqueId('a').slice(2)}`;
const buildB = `0.1.0+${uniqueId('b').slice(2)}`;
const running: { worker: Worker; run: Promise<void> }[] = [];

/** A worker of `build` on the test's queue and deployment; its activities answer with `label`. */
async function startBuild(build: string, label: 'A' | 'B'): Promise<void> {
  const activities: VersioningTestActivities = {
    whichBuild: async (_job, { step }) => ({ build: label, step }),
  };
  const { worker } = await createTestWorker(env, {
    taskQueue,
    app: label === 'A' ? appA : appB,
    workflowsPath: require.resolve(label === 'A' ? './fixtures/versioning-a' : './fixtures/versioning-b'),
    workflowBundlePath: undefined,
    activities: activities as unknown as Record<string, unknown>,
    versioning: { deploymentName, buildId: build },
  });
  running.push({ worker, run: worker.run() });
}

/** Makes `build` current once its workers have polled (before that, Temporal knows no such version). */
async function makeCurrent(build: string): Promise<void> {
  await waitFor(
    () =>
      setCurrentVersion(env.client, deploymentName, build, { identity: 'versioning-test' }).then(
        () => null,
        (err: unknown) => (err instanceof Error ? err.message : String(err)),
      ),
    (error) => error === null,
    30_000,
    200,
  );
}

/**
 * The compiled `stepwise` command (global setup builds dist/) against the test's server, its
 * deployment the test's (as a worker's environment would name it); its `--json` answer.
 */
async function stepwiseCli(args: string[]): Promise<unknown> {
  const { stdout } = await execFileAsync(
    process.execPath,
    [resolve(__dirname, '../../dist/src/bin/stepwise.js'), ...args],
    {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: env.address,
        TEMPORAL_TASK_QUEUE: taskQueue,
        STEPWISE_WORKER_DEPLOYMENT: deploymentName,
      },
      timeout: 30_000,
    },
  );
  return JSON.parse(stdout);
}

const results = (s: JobState): Record<string, unknown> =>
  Object.fromEntries(s.steps.map((step) => [step.key, step.result]));

const awaitingGate = (jobs: StepwiseClient, jobId: string): Promise<JobState> =>
  waitForState(jobs, jobId, (s) => s.status === 'awaiting_approval', { timeoutMs: 30_000, intervalMs: 100 });

const closed = (jobs: StepwiseClient, jobId: string): Promise<JobState> =>
  waitForState(jobs, jobId, (s) => s.closedAt !== null, { timeoutMs: 30_000, intervalMs: 100 });

beforeAll(async () => {
  env = await connectTestEnv();
});

afterAll(async () => {
  for (const { worker } of running) if (worker.getState() === 'RUNNING') worker.shutdown();
  await Promise.all(running.map((r) => r.run));
  await env?.close();
});

describe('a versioned deploy (build A, then build B with a changed definition)', () => {
  it('finishes pinned jobs on the build they started on and sends new jobs to the new one', async () => {
    const jobsA = testClient(env, taskQueue, appA);
    const jobsB = testClient(env, taskQueue, appB);
    await startBuild(buildA, 'A');
    await makeCurrent(buildA);

    const pinned = uniqueId('vt-long');
    const upgrading = uniqueId('vt-short');
    await jobsA.start('versionedLong', {}, { jobId: pinned });
    await jobsA.start('versionedShort', {}, { jobId: upgrading });
    const waitingPinned = await awaitingGate(jobsA, pinned);
    const waitingUpgrading = await awaitingGate(jobsA, upgrading);
    expect(waitingPinned.deployment).toEqual({ name: deploymentName, buildId: buildA, behavior: 'pinned' });
    expect(waitingUpgrading.deployment).toEqual({
      name: deploymentName,
      buildId: buildA,
      behavior: 'auto_upgrade',
    });
    expect(waitingPinned.steps.map((s) => s.key)).toEqual(['gate', 'finish']);

    // The deploy: B's workers start alongside A's; once Temporal knows B (its workers polled), the
    // operator makes it current with the `stepwise deployment` command.
    await startBuild(buildB, 'B');
    await waitFor(
      () => describeDeployment(env.client, deploymentName),
      (d) => d.versions.some((v) => v.buildId === buildB),
      30_000,
      200,
    );
    const setCurrent = await stepwiseCli(['deployment', 'set-current', '--build-id', buildB, '--json']);
    expect(setCurrent).toEqual({
      deployment: deploymentName,
      currentBuildId: buildB,
      previousBuildId: buildA,
    });
    const deployment = await describeDeployment(env.client, deploymentName);
    expect(deployment.currentBuildId).toBe(buildB);
    expect(deployment.versions.map((v) => v.buildId).sort()).toEqual([buildA, buildB].sort());
    expect(deployment.versions.find((v) => v.buildId === buildB)?.status).toBe('current');

    // The decisions reach each job where it runs now: the pinned one on A, the other on B.
    await jobsB.approve(pinned, 'gate', { by: 'tester' });
    await jobsB.approve(upgrading, 'gate', { by: 'tester' });

    const donePinned = await closed(jobsA, pinned);
    expectJobStateInvariants(donePinned);
    expect(donePinned.status).toBe('completed');
    expect(donePinned.steps.map((s) => s.key)).toEqual(['gate', 'finish']);
    expect(results(donePinned).finish).toEqual({ build: 'A', step: 'finish' });
    expect(donePinned.deployment).toEqual({ name: deploymentName, buildId: buildA, behavior: 'pinned' });

    const doneUpgrading = await closed(jobsB, upgrading);
    expectJobStateInvariants(doneUpgrading);
    expect(doneUpgrading.status).toBe('completed');
    expect(doneUpgrading.steps.map((s) => s.key)).toEqual(['gate', 'finish', 'audit']);
    expect(results(doneUpgrading)).toMatchObject({
      finish: { build: 'B', step: 'finish' },
      audit: { build: 'B', step: 'audit' },
    });
    expect(doneUpgrading.deployment).toEqual({
      name: deploymentName,
      buildId: buildB,
      behavior: 'auto_upgrade',
    });

    // A new job of the pinned type goes to B, with B's steps, and stays there.
    const fresh = uniqueId('vt-long-new');
    await jobsB.start('versionedLong', {}, { jobId: fresh });
    const waitingFresh = await awaitingGate(jobsB, fresh);
    expect(waitingFresh.deployment).toEqual({ name: deploymentName, buildId: buildB, behavior: 'pinned' });
    await jobsB.approve(fresh, 'gate', { by: 'tester' });
    const doneFresh = await closed(jobsB, fresh);
    expect(doneFresh.steps.map((s) => s.key)).toEqual(['gate', 'finish', 'audit']);
    expect(results(doneFresh)).toMatchObject({ finish: { build: 'B' }, audit: { build: 'B' } });
    expect(doneFresh.deployment?.buildId).toBe(buildB);

    // A is no longer current: what an operator looks at before stopping its workers.
    const versionA = (await stepwiseCli([
      'deployment',
      'describe-version',
      '--build-id',
      buildA,
      '--json',
    ])) as Awaited<ReturnType<typeof describeDeploymentVersion>>;
    // Its drainage (and so its status) may move on between two describes; the rest is the library's answer.
    const moving = { status: '', drainage: null, drainageCheckedAt: null };
    const direct = await describeDeploymentVersion(env.client, deploymentName, buildA);
    expect({ ...versionA, ...moving }).toEqual({ ...direct, ...moving });
    expect(versionA.status).toMatch(/^(draining|drained)$/);
    expect(versionA.taskQueues).toEqual([
      { name: taskQueue, type: 'activity' },
      { name: taskQueue, type: 'workflow' },
      { name: `${taskQueue}-limiter-watch`, type: 'activity' },
    ]);
    const listed = await listDeployments(env.client);
    expect(listed.find((d) => d.name === deploymentName)?.currentBuildId).toBe(buildB);
  });
});
