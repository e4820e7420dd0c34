/**
 * Makes the namespace ready for Stepwise on an existing Temporal server: registers it when
 * missing, registers the custom search attributes, and waits until they are listed — the same
 * `prepareNamespace` the dev server launcher and `npm run cluster` run. docker-compose.yml runs it
 * once as its `temporal-setup` service; on any other cluster: `node dist/scripts/prepare-namespace.js`
 * with TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE (and TLS / API key) set. Retries until the server
 * answers, for up to DEV_SERVER_START_TIMEOUT_MS (default 60 s).
 */
import { Connection } from '@temporalio/client';
import { loadConfigOrExit } from '../src/config';
import { prepareNamespace } from '../src/search-attributes';
import { clientConnectionOptions } from '../src/temporal';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const { address, namespace } = config.temporal;
  const deadline = Date.now() + config.env.DEV_SERVER_START_TIMEOUT_MS;
  let last: unknown = null;
  while (Date.now() < deadline) {
    let connection: Connection | null = null;
    try {
      connection = await Connection.connect({
        ...clientConnectionOptions(config.temporal),
        connectTimeout: 5_000,
      });
      const { namespaceCreated, attributesAdded } = await prepareNamespace(connection, namespace, deadline);
      console.log(
        `[prepare-namespace] ${address} namespace ${namespace}: ${namespaceCreated ? 'registered' : 'exists'}; ` +
          `search attributes ${attributesAdded.length > 0 ? `added ${attributesAdded.join(', ')}` : 'all present'}`,
      );
      return;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 1_000));
    } finally {
      await connection?.close();
    }
  }
  console.error(`[prepare-namespace] ERROR: ${address} not ready before the deadline: ${String(last)}`);
  process.exit(1);
}

void main();
