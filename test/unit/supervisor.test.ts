/**
 * The launchers' supervisor (src/supervisor.ts) on stand-in processes: restarts with backoff while
 * the others keep running, the crash-loop limit with the process's last lines, dependency order on
 * start, restart and stop, and planned restarts (npm run dev). The real launchers are broken from
 * outside in test/faults/launcher-*.test.ts.
 */
import {
  backoffDelay,
  DEFAULT_RESTART_POLICY,
  Supervisor,
  type ProcessExit,
  type RestartPolicy,
  type ServiceSpec,
  type SupervisedProcess,
} from '../../src/supervisor';
import { waitFor } from '../helpers';

let nextPid = 1000;

class FakeProcess implements SupervisedProcess {
  readonly pid = nextPid++;
  readonly tail: string[] = [];
  running = true;
  readonly exited: Promise<ProcessExit>;
  private resolveExit!: (e: ProcessExit) => void;

  constructor() {
    this.exited = new Promise((res) => (this.resolveExit = res));
  }

  exit(e: ProcessExit): void {
    if (!this.running) return;
    this.running = false;
    this.resolveExit(e);
  }

  async kill9(): Promise<void> {
    this.exit({ code: null, signal: 'SIGKILL' });
  }
}

interface Fake {
  spec: ServiceSpec;
  proc(): FakeProcess;
  starts: number;
  /** When set, starts wait for it. */
  gate: Promise<void> | null;
}

function fake(
  name: string,
  events: string[],
  opts: { dependsOn?: string[]; failStart?: (n: number) => boolean } = {},
): Fake {
  let proc: FakeProcess | null = null;
  const f: Fake = {
    starts: 0,
    gate: null,
    proc: () => proc!,
    spec: {
      name,
      dependsOn: opts.dependsOn,
      async start() {
        f.starts++;
        proc = new FakeProcess();
        events.push(`start ${name}`);
        if (f.gate) await f.gate;
        if (opts.failStart?.(f.starts)) {
          proc.tail.push(`${name}: cannot open the bundle`, `${name}: giving up`);
          proc.exit({ code: 1, signal: null });
          throw new Error(`${name} exited during start:\n${proc.tail.join('\n')}`);
        }
      },
      current: () => proc,
      async stop() {
        events.push(`stop ${name}`);
        proc?.exit({ code: 0, signal: null });
      },
    },
  };
  return f;
}

const fast: RestartPolicy = { maxRestarts: 3, windowMs: 60_000, backoffMs: 1, maxBackoffMs: 5 };

function setup(fakes: Fake[], policy = fast): { sup: Supervisor; log: string[] } {
  const log: string[] = [];
  const sup = new Supervisor(
    fakes.map((f) => f.spec),
    { launcher: 'test', policy, log: (l) => log.push(l) },
  );
  return { sup, log };
}

const stateOf = (sup: Supervisor, name: string): string =>
  sup.status().processes.find((p) => p.name === name)!.state;

afterEach(() => jest.useRealTimers());

it('backoff doubles with each exit within the window, up to its maximum', () => {
  const p = DEFAULT_RESTART_POLICY;
  expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(p, n))).toEqual([
    1000, 2000, 4000, 8000, 16_000, 30_000, 30_000,
  ]);
});

it('restarts a process that exits unexpectedly, logs why and counts it; the others keep running', async () => {
  const events: string[] = [];
  const [db, server, worker] = [
    fake('db', events),
    fake('server', events, { dependsOn: ['db'] }),
    fake('worker', events, { dependsOn: ['server'] }),
  ];
  const { sup, log } = setup([db, server, worker]);
  expect(await sup.start()).toBe(true);
  const [dbProc, serverProc] = [db.proc(), server.proc()];
  const killed = worker.proc();
  await killed.kill9();
  await waitFor(
    async () => worker.starts,
    (n) => n === 2,
  );
  await waitFor(
    async () => stateOf(sup, 'worker'),
    (s) => s === 'up',
  );
  expect(log.find((l) => l.startsWith('worker killed by SIGKILL'))).toMatch(
    /^worker killed by SIGKILL after .* s; restarting it in .* \(restart 1; 1 of at most 3 within 60 s\)$/,
  );
  expect(log).toContain(`worker is up again (pid ${worker.proc().pid}, restarts 1)`);
  // Nobody else was touched.
  expect([db.proc(), server.proc()]).toEqual([dbProc, serverProc]);
  expect(dbProc.running && serverProc.running).toBe(true);
  expect(events.filter((e) => e.startsWith('stop'))).toEqual([]);
  const status = sup.status();
  expect(status.status).toBe('ok');
  expect(status.processes.find((p) => p.name === 'worker')).toMatchObject({
    restarts: 1,
    pid: worker.proc().pid,
    lastExit: { code: null, signal: 'SIGKILL', reason: expect.stringMatching(/^killed by SIGKILL after/) },
  });
  await sup.stop();
});

it('a crash loop — more exits than the limit within the window — stops everything, naming the process and showing its last lines', async () => {
  const events: string[] = [];
  const server = fake('server', events);
  const bad = fake('worker-2', events, { dependsOn: ['server'], failStart: () => true });
  const api = fake('api', events, { dependsOn: ['server'] });
  const { sup, log } = setup([server, bad, api]);
  expect(await sup.start()).toBe(false);
  expect(await sup.done).toEqual({ code: 1, reason: 'worker-2 is in a crash loop' });
  // The first start and `maxRestarts` restarts.
  expect(bad.starts).toBe(fast.maxRestarts + 1);
  expect(log.filter((l) => l.startsWith('worker-2 failed to start'))).toHaveLength(fast.maxRestarts);
  const at = log.findIndex((l) => l.startsWith('worker-2 is in a crash loop'));
  expect(log[at]).toContain('4 unexpected exits within 60 s (more than 3)');
  expect(log.slice(at + 1, at + 5)).toEqual([
    'Last lines of worker-2:',
    '  | worker-2: cannot open the bundle',
    '  | worker-2: giving up',
    'Stopping everything.',
  ]);
  expect(events.at(-1)).toBe('stop server');
  expect(server.proc().running).toBe(false);
  expect(sup.status().processes.every((p) => p.state === 'stopped')).toBe(true);
});

it('exits spread wider than the window are no crash loop', async () => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  const events: string[] = [];
  const worker = fake('worker', events);
  const { sup } = setup([worker], { maxRestarts: 1, windowMs: 10_000, backoffMs: 10, maxBackoffMs: 10 });
  await sup.start();
  for (let i = 0; i < 4; i++) {
    jest.setSystemTime(Date.now() + 11_000);
    await worker.proc().kill9();
    await jest.advanceTimersByTimeAsync(10);
    await waitFor(
      async () => stateOf(sup, 'worker'),
      (s) => s === 'up',
    );
  }
  expect(worker.starts).toBe(5);
  expect(sup.status().processes[0].restarts).toBe(4);
  jest.useRealTimers();
  await sup.stop();
});

it('starts in dependency order, and a restart waits until what it depends on is up again', async () => {
  const events: string[] = [];
  const db = fake('db', events);
  const server = fake('server', events, { dependsOn: ['db'] });
  const worker = fake('worker', events, { dependsOn: ['server'] });
  const { sup } = setup([worker, server, db]);
  await sup.start();
  expect(events).toEqual(['start db', 'start server', 'start worker']);
  // The server is down and cannot come back yet; the worker dies meanwhile.
  let open!: () => void;
  server.gate = new Promise((r) => (open = r));
  await server.proc().kill9();
  await waitFor(
    async () => stateOf(sup, 'server'),
    (s) => s === 'starting',
  );
  await worker.proc().kill9();
  await waitFor(
    async () => stateOf(sup, 'worker'),
    (s) => s === 'waiting',
  );
  expect(worker.starts).toBe(1);
  expect(sup.status().status).toBe('degraded');
  server.gate = null;
  open();
  await waitFor(
    async () => stateOf(sup, 'worker'),
    (s) => s === 'up',
  );
  expect(events.slice(3)).toEqual(['start server', 'start worker']);
  await sup.stop();
});

it('stops in reverse dependency order: API and workers, then the server, then the database', async () => {
  const events: string[] = [];
  const fakes = [
    fake('postgres', events),
    fake('temporal', events, { dependsOn: ['postgres'] }),
    fake('worker-1', events, { dependsOn: ['temporal'] }),
    fake('api', events, { dependsOn: ['temporal'] }),
  ];
  const { sup, log } = setup(fakes);
  await sup.start();
  events.length = 0;
  await sup.stop();
  expect(await sup.done).toEqual({ code: 0, reason: 'asked to stop' });
  expect(events.slice(0, 2).sort()).toEqual(['stop api', 'stop worker-1']);
  expect(events.slice(2)).toEqual(['stop temporal', 'stop postgres']);
  expect(log.slice(-2)).toEqual(['temporal stopped', 'postgres stopped']);
  // Nothing restarts what was stopped on purpose.
  expect(fakes.map((f) => f.starts)).toEqual([1, 1, 1, 1]);
});

it('a planned restart (npm run dev) stops and starts again at once, and is not counted', async () => {
  const events: string[] = [];
  const server = fake('server', events);
  const api = fake('api', events, { dependsOn: ['server'] });
  const { sup } = setup([server, api]);
  await sup.start();
  const before = api.proc();
  await sup.restart(['api']);
  await waitFor(
    async () => (api.proc() !== before ? stateOf(sup, 'api') : 'old'),
    (s) => s === 'up',
  );
  expect(sup.status().processes.find((p) => p.name === 'api')).toMatchObject({ restarts: 0, lastExit: null });
  expect(server.starts).toBe(1);
  await sup.stop();
});
