/**
 * The launchers' supervisor (`npm start`, `npm run cluster`): it starts each process once the
 * processes it depends on are up, restarts one that exits without being asked to — after a
 * backoff, logging why and counting — while the others keep running, and stops everything only
 * when asked (Ctrl-C, SIGTERM) or when one process is in a crash loop: more than
 * `maxRestarts` unexpected exits within `windowMs`. Then it names the process and shows its last
 * lines. Stopping goes in reverse dependency order: a process stops once everything that depends
 * on it has stopped (the API and the workers drain before Temporal stops, Temporal before
 * PostgreSQL). The policy and its systemd/compose equivalents: docs/production.md#supervision.
 */
import type { ProcessState, ProcessStatus, StackStatus } from './stack-status';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** What the supervisor needs of a running child process. */
export interface SupervisedProcess {
  readonly pid: number | undefined;
  readonly exited: Promise<ProcessExit>;
  readonly running: boolean;
  /** Its last output lines (for the crash-loop message). */
  readonly tail: readonly string[];
  /** SIGKILL (and its process group); resolves once it is gone. */
  kill9(): Promise<void>;
}

export interface ServiceSpec {
  /** The process's label (`worker-1`, `api`, `temporal`, …). */
  name: string;
  /** Services that must be up before this one starts or restarts. */
  dependsOn?: readonly string[];
  /**
   * Starts the process and resolves once it is ready; rejects if it exits first or is not ready in
   * time. `first` is true on the launcher's first start of it (e.g. schema setup runs then only).
   */
  start(first: boolean): Promise<void>;
  /** The process of the latest start — also while that start is pending, and after it failed. */
  current(): SupervisedProcess | null;
  /** Stops the current process gracefully (its own signal and grace time, then SIGKILL). */
  stop(): Promise<void>;
}

/** The restart policy. */
export interface RestartPolicy {
  /** Unexpected exits allowed within `windowMs`; one more is a crash loop and stops everything. */
  maxRestarts: number;
  windowMs: number;
  /** The first restart's delay; each further exit within the window doubles it, up to `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  maxRestarts: 5,
  windowMs: 60_000,
  backoffMs: 1_000,
  maxBackoffMs: 30_000,
};

export interface SupervisorOptions {
  /** Label of the launcher in the status (`npm start`, `npm run cluster`). */
  launcher: string;
  policy?: RestartPolicy;
  /** The supervisor's own lines (restarts, crash loop, stop). */
  log(line: string): void;
  /** Called on every change of the status. */
  onStatus?(status: StackStatus): void;
}

/** Why the supervisor stopped: asked to (code 0), or a crash loop (code 1). */
export interface SupervisorEnd {
  code: number;
  reason: string;
}

/** The delay before the restart that follows the `exitsInWindow`-th exit within the window. */
export function backoffDelay(policy: RestartPolicy, exitsInWindow: number): number {
  return Math.min(policy.backoffMs * 2 ** Math.max(0, exitsInWindow - 1), policy.maxBackoffMs);
}

/** "killed by SIGKILL", "exited with code 1". */
export function describeExit(exit: ProcessExit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

const seconds = (ms: number): string =>
  ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;

interface Slot {
  spec: ServiceSpec;
  state: ProcessState;
  since: number;
  pid: number | null;
  restarts: number;
  /** Times of unexpected exits within the window. */
  exits: number[];
  lastExit: ProcessStatus['lastExit'];
  started: boolean;
  /** Set by restart(): the next exit is planned (not counted, no backoff). */
  planned: boolean;
  stopRequested: boolean;
  runner: Promise<void> | null;
  /** The first lines of the latest failed start's error (when there is no process output to show). */
  lastError: string[];
  /** Wakes a backoff sleep early (stop, planned restart). */
  wake: (() => void) | null;
}

export class Supervisor {
  private readonly slots = new Map<string, Slot>();
  private readonly policy: RestartPolicy;
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private changed: { promise: Promise<void>; resolve: () => void };
  private endResolve!: (end: SupervisorEnd) => void;
  /** Resolves once everything stopped: asked to, or after a crash loop. */
  readonly done: Promise<SupervisorEnd>;

  constructor(
    specs: ServiceSpec[],
    private readonly opts: SupervisorOptions,
  ) {
    this.policy = opts.policy ?? DEFAULT_RESTART_POLICY;
    for (const spec of specs) {
      if (this.slots.has(spec.name)) throw new Error(`two services are named ${spec.name}`);
      this.slots.set(spec.name, {
        spec,
        state: 'waiting',
        since: Date.now(),
        pid: null,
        restarts: 0,
        exits: [],
        lastExit: null,
        started: false,
        planned: false,
        stopRequested: false,
        runner: null,
        lastError: [],
        wake: null,
      });
    }
    for (const spec of specs) {
      for (const dep of spec.dependsOn ?? []) {
        if (!this.slots.has(dep)) throw new Error(`${spec.name} depends on unknown service ${dep}`);
      }
    }
    this.changed = this.newSignal();
    this.done = new Promise((res) => (this.endResolve = res));
  }

  private newSignal(): { promise: Promise<void>; resolve: () => void } {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    return { promise, resolve };
  }

  private set(slot: Slot, state: ProcessState, pid: number | null = slot.pid): void {
    slot.state = state;
    slot.pid = pid;
    slot.since = Date.now();
    const signal = this.changed;
    this.changed = this.newSignal();
    signal.resolve();
    this.opts.onStatus?.(this.status());
  }

  /** Every process's state, pid, restarts and last exit. */
  status(): StackStatus {
    const processes = [...this.slots.values()].map((s): ProcessStatus => ({
      name: s.spec.name,
      state: s.state,
      pid: s.pid,
      restarts: s.restarts,
      since: new Date(s.since).toISOString(),
      lastExit: s.lastExit,
    }));
    return {
      status: processes.every((p) => p.state === 'up') ? 'ok' : 'degraded',
      launcher: this.opts.launcher,
      processes,
    };
  }

  /** True once a stop of everything began. */
  get isStopping(): boolean {
    return this.stopping;
  }

  /** True once `name` was asked to stop (its shutdown chatter can be left out of the console). */
  stopRequested(name: string): boolean {
    return this.slots.get(name)?.stopRequested ?? false;
  }

  /**
   * Starts every service (each once its dependencies are up) and keeps them running. Resolves true
   * once all of them are up for the first time, false if everything stopped before that.
   */
  start(): Promise<boolean> {
    for (const slot of this.slots.values()) slot.runner = this.run(slot);
    return this.allUp();
  }

  private async allUp(): Promise<boolean> {
    for (;;) {
      if (this.stopping) return false;
      if ([...this.slots.values()].every((s) => s.state === 'up')) return true;
      await this.changed.promise;
    }
  }

  private depsUp(slot: Slot): boolean {
    return (slot.spec.dependsOn ?? []).every((d) => this.slots.get(d)!.state === 'up');
  }

  /** One service's life: wait for its dependencies, start, watch, restart or give up. */
  private async run(slot: Slot): Promise<void> {
    const { spec } = slot;
    let starts = 0;
    for (;;) {
      while (!this.stopping && !this.depsUp(slot)) {
        if (slot.state !== 'waiting') this.set(slot, 'waiting', null);
        await this.changed.promise;
      }
      if (this.stopping) return;
      const first = !slot.started;
      slot.started = true;
      starts++;
      this.set(slot, 'starting', null);
      const startedAt = Date.now();
      let exit: ProcessExit;
      let reason: string;
      /** The last output line, shown with the reason in the console (not in the status). */
      let lastLine: string | undefined;
      try {
        const starting = spec.start(first);
        // The pid is known as soon as the process was spawned.
        void Promise.resolve().then(() => {
          const pid = spec.current()?.pid;
          if (slot.state === 'starting' && pid !== undefined) this.set(slot, 'starting', pid);
        });
        await starting;
        const proc = spec.current();
        if (!proc) throw new Error(`${spec.name} has no process after its start`);
        if (this.stopping) {
          // Stopped while it started: the stop may have missed a process spawned late.
          await spec.stop();
          return;
        }
        if (starts > 1)
          this.opts.log(`${spec.name} is up again (pid ${proc.pid}, restarts ${slot.restarts})`);
        slot.planned = false;
        this.set(slot, 'up', proc.pid ?? null);
        exit = await proc.exited;
        if (this.stopping || slot.stopRequested) return;
        reason = describeExit(exit);
        if (slot.planned) {
          slot.planned = false;
          this.opts.log(`${spec.name} stopped for a restart; starting it again`);
          continue;
        }
        reason += ` after ${seconds(Date.now() - startedAt)}`;
        if (exit.code !== null && exit.code !== 0) lastLine = proc.tail.at(-1);
      } catch (err) {
        const proc = spec.current();
        if (proc?.running) await proc.kill9();
        if (this.stopping || slot.stopRequested) return;
        exit = proc ? await proc.exited : { code: null, signal: null };
        const message = err instanceof Error ? err.message : String(err);
        slot.lastError = message.split('\n').slice(0, 20);
        reason = `failed to start: ${slot.lastError[0].replace(/:$/, '')}`;
        lastLine = proc?.tail.at(-1);
        if (slot.planned) {
          // Stopped while it started, for a restart: start again at once.
          slot.planned = false;
          continue;
        }
      }
      // An exit nobody asked for.
      const now = Date.now();
      slot.exits = [...slot.exits.filter((t) => now - t < this.policy.windowMs), now];
      slot.lastExit = {
        code: exit.code,
        signal: exit.signal,
        at: new Date(now).toISOString(),
        reason,
      };
      slot.planned = false;
      if (slot.exits.length > this.policy.maxRestarts) {
        this.set(slot, 'stopped', null);
        this.crashLoop(slot, reason);
        return;
      }
      slot.restarts++;
      const delay = backoffDelay(this.policy, slot.exits.length);
      const shown = lastLine ? `${reason} (last line: ${lastLine.slice(0, 300)})` : reason;
      this.opts.log(
        `${spec.name} ${shown}; restarting it in ${seconds(delay)} ` +
          `(restart ${slot.restarts}; ${slot.exits.length} of at most ${this.policy.maxRestarts} within ${seconds(this.policy.windowMs)})`,
      );
      this.set(slot, 'restarting', null);
      await new Promise<void>((res) => {
        const timer = setTimeout(res, delay);
        slot.wake = () => {
          clearTimeout(timer);
          res();
        };
      });
      slot.wake = null;
      if (this.stopping) return;
    }
  }

  private crashLoop(slot: Slot, reason: string): void {
    const tail = slot.spec.current()?.tail ?? [];
    const lines = tail.length > 0 ? tail.slice(-20) : slot.lastError;
    this.opts.log(
      `${slot.spec.name} is in a crash loop: ${slot.exits.length} unexpected exits within ` +
        `${seconds(this.policy.windowMs)} (more than ${this.policy.maxRestarts}); the last: ${reason}.`,
    );
    this.opts.log(lines.length > 0 ? `Last lines of ${slot.spec.name}:` : `${slot.spec.name} wrote nothing.`);
    for (const line of lines) this.opts.log(`  | ${line}`);
    this.opts.log('Stopping everything.');
    void this.stopAll(1, `${slot.spec.name} is in a crash loop`);
  }

  /**
   * Restarts `names` now (a planned restart: `npm run dev` after a change): each is stopped
   * gracefully and started again; not counted, no backoff.
   */
  async restart(names: string[]): Promise<void> {
    if (this.stopping) return;
    await Promise.all(
      names.map(async (name) => {
        const slot = this.slots.get(name);
        if (!slot) throw new Error(`no service ${name}`);
        slot.planned = true;
        if (slot.state === 'restarting' || slot.state === 'waiting') {
          slot.wake?.();
          return;
        }
        await slot.spec.stop();
      }),
    );
  }

  /** Stops everything in reverse dependency order (Ctrl-C, SIGTERM); resolves once all stopped. */
  stop(): Promise<void> {
    return this.stopAll(0, 'asked to stop');
  }

  /** SIGKILL to every process now (a second Ctrl-C). */
  async killAll(): Promise<void> {
    await Promise.all([...this.slots.values()].map(async (s) => s.spec.current()?.kill9()));
  }

  private stopAll(code: number, reason: string): Promise<void> {
    if (this.stopped) return this.stopped;
    this.stopping = true;
    const signal = this.changed;
    this.changed = this.newSignal();
    signal.resolve();
    for (const slot of this.slots.values()) slot.wake?.();
    this.stopped = (async () => {
      for (const layer of this.stopLayers()) {
        await Promise.all(
          layer.map(async (slot) => {
            slot.stopRequested = true;
            if (slot.state !== 'stopped') this.set(slot, 'stopping');
            await slot.spec.stop();
            await slot.runner;
            // A process spawned while the stop ran (a start in flight) is stopped by its runner.
            this.set(slot, 'stopped', null);
            this.opts.log(`${slot.spec.name} stopped`);
          }),
        );
      }
      this.endResolve({ code, reason });
    })();
    return this.stopped;
  }

  /** Services grouped so that each group's dependents are all in earlier groups. */
  private stopLayers(): Slot[][] {
    const left = new Set(this.slots.values());
    const layers: Slot[][] = [];
    while (left.size > 0) {
      const layer = [...left].filter(
        (s) => ![...left].some((o) => o !== s && (o.spec.dependsOn ?? []).includes(s.spec.name)),
      );
      if (layer.length === 0) throw new Error('services depend on each other in a cycle');
      for (const s of layer) left.delete(s);
      layers.push(layer);
    }
    return layers;
  }
}
