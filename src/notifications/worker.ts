/**
 * The notifications worker: a Temporal worker on the notifications task queue, in the API process,
 * running only the delivery workflow and its attempt activity. The delivery workflow's bundle is
 * built once per process (it is small: the workflow and its contracts).
 */
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import type { TemporalConnectionConfig } from '../config';
import { workerConnectionOptions } from '../temporal';
import type { DeliveryActivities } from '../../workflows/notifications/contracts';

let bundle: Promise<{ code: string }> | null = null;

/** The delivery workflow's bundle, built at the first call. */
function deliveryBundle(): Promise<{ code: string }> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows/notifications/delivery'),
    logger: new DefaultLogger('WARN'),
  }).catch((err: unknown) => {
    bundle = null;
    throw err;
  });
  return bundle;
}

export interface RunningNotificationsWorker {
  /** Stops polling, lets attempts in flight finish (within the grace time), closes the connection. */
  close(): Promise<void>;
}

export async function startNotificationsWorker(opts: {
  temporal: TemporalConnectionConfig;
  taskQueue: string;
  activities: DeliveryActivities;
}): Promise<RunningNotificationsWorker> {
  const workflowBundle = await deliveryBundle();
  const connection = await NativeConnection.connect(workerConnectionOptions(opts.temporal));
  let worker: Worker;
  try {
    worker = await Worker.create({
      connection,
      namespace: opts.temporal.namespace,
      taskQueue: opts.taskQueue,
      workflowBundle,
      activities: { ...opts.activities },
      shutdownGraceTime: '5s',
    });
  } catch (err) {
    await connection.close();
    throw err;
  }
  const running = worker.run();
  return {
    async close() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
    },
  };
}
