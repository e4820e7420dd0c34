/**
 * The worker's health probes, on a small HTTP server of its own (STEPWISE_WORKER_HEALTH_ADDRESS):
 *
 * - `GET /livez` — 200 while the worker is initialising, running or draining; 503 once it failed
 *   or stopped (restart the process).
 * - `GET /readyz` — 200 when the worker polls (state RUNNING) and the Temporal frontend answers
 *   its health check within {@link READY_DEADLINE_MS}; 503 otherwise, with the reason. A worker
 *   that is not ready recovers by itself when Temporal comes back: it needs no restart.
 */
import { createServer, type Server } from 'node:http';
import type { NativeConnection, State } from '@temporalio/worker';

export const READY_DEADLINE_MS = 2_000;

export interface WorkerProbeTarget {
  getState(): State;
}

export function startWorkerHealthServer(
  address: string,
  worker: WorkerProbeTarget,
  connection: NativeConnection,
): Promise<Server> {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(':')),
    Number(address.slice(address.lastIndexOf(':') + 1)),
  ];
  const server = createServer((req, res) => {
    const reply = (code: number, body: Record<string, unknown>): void => {
      res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const state = worker.getState();
    if (req.url === '/livez') {
      const alive = state !== 'FAILED' && state !== 'STOPPED';
      return reply(alive ? 200 : 503, { status: alive ? 'ok' : 'error', worker: state });
    }
    if (req.url === '/readyz') {
      if (state !== 'RUNNING') return reply(503, { status: 'error', worker: state });
      connection
        .withDeadline(Date.now() + READY_DEADLINE_MS, () => connection.healthService.check({}))
        .then(
          () => reply(200, { status: 'ok', worker: state, temporal: 'ok' }),
          () => reply(503, { status: 'error', worker: state, temporal: 'unreachable' }),
        );
      return;
    }
    reply(404, { status: 'error', message: 'GET /livez or /readyz' });
  });
  return new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(port, host, () => res(server));
  });
}
