#!/usr/bin/env node
// `npm run test:cluster`: the workflow and API tests, unchanged, against a running cluster
// (`npm run cluster` in another terminal) instead of the dev server `npm test` starts. The server
// is TEMPORAL_ADDRESS, else 127.0.0.1:CLUSTER_TEMPORAL_PORT (default 7233). Extra arguments go to jest.
import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { createRequire } from 'node:module';

const address = process.env.TEMPORAL_ADDRESS || `127.0.0.1:${process.env.CLUSTER_TEMPORAL_PORT || '7233'}`;
const [host, port] = [
  address.slice(0, address.lastIndexOf(':')),
  Number(address.slice(address.lastIndexOf(':') + 1)),
];
const reachable = await new Promise((res) => {
  const socket = createConnection({ host, port });
  socket.once('connect', () => (socket.destroy(), res(true)));
  socket.once('error', () => res(false));
});
if (!reachable) {
  console.error(
    `[test:cluster] ERROR: nothing listens on ${address}. Start the cluster first ("npm run cluster" in another ` +
      'terminal), or set TEMPORAL_ADDRESS (or CLUSTER_TEMPORAL_PORT) to where it runs.',
  );
  process.exit(1);
}
console.log(`[test:cluster] workflow and API tests against ${address}`);
const jest = createRequire(import.meta.url).resolve('jest/bin/jest');
const child = spawn(
  process.execPath,
  [
    jest,
    '--selectProjects',
    'temporal',
    '--testPathPatterns',
    'test/(workflow|api)/',
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit', env: { ...process.env, STEPWISE_TEST_TEMPORAL_ADDRESS: address } },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
