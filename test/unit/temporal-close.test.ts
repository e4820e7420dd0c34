/**
 * Closing a connection while a call is being retried. The client retries a failed call from a
 * timer, and a retry that fires after the channel closed throws "Channel has been shut down" out of
 * that timer: an uncaught exception that ends the process (seen as a fault test failing after the
 * dev server came back). A connection from `connectTemporal` / `lazyTemporal` closes once its calls
 * have ended. No server is needed: the address is a port nobody listens on.
 */
import { Client } from '@temporalio/client';
import { freePort } from '../../src/dev-server';
import { lazyTemporal } from '../../src/temporal';
import { waitFor } from '../helpers';

test('close() while a call is retrying waits for the call to end, leaving no retry behind', async () => {
  const connection = lazyTemporal({ address: `127.0.0.1:${await freePort()}` });
  const client = new Client({ connection, namespace: 'default' });
  const call = connection.withDeadline(Date.now() + 1_500, () => client.workflowService.getSystemInfo({}));
  const outcome = call.then(
    () => 'answered',
    (err: unknown) => `failed: ${(err as Error).message}`,
  );
  // The first attempts fail at once (connection refused) and are retried from timers meanwhile.
  await waitFor(
    async () => connection.calls.inFlight,
    (n) => n === 1,
    1_000,
    5,
  );

  await connection.close();
  expect(connection.calls.inFlight).toBe(0);
  expect(await outcome).toMatch(/^failed: /);
});

test('idle() says when calls are still in flight after its wait', async () => {
  const connection = lazyTemporal({ address: `127.0.0.1:${await freePort()}` }, 100);
  const client = new Client({ connection, namespace: 'default' });
  const call = connection
    .withDeadline(Date.now() + 2_000, () => client.workflowService.getSystemInfo({}))
    .catch(() => undefined);
  expect(await connection.calls.idle(50)).toBe(false);
  expect(await connection.calls.idle(10_000)).toBe(true);
  await call;
  await connection.close();
});
