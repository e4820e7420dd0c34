/**
 * A child process a launcher owns: its output as labelled lines, a stop with a grace time (then
 * SIGKILL), `kill -9` (of its whole process group), and SIGKILL if this process exits first. It
 * never inherits the API keys (src/child-env.ts); the API gets them on a descriptor of its own.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { childEnv } from '../child-env';
import { forEachLine } from '../lines';

export type LineSink = (name: string, line: string) => void;

export interface ProcessSpec {
  /** Label of its log lines (`postgres`, `temporal`, `worker-1`, …). */
  name: string;
  command: string;
  args: string[];
  /** Default: this process's environment without the API keys. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  onLine: LineSink;
  /** Written to the child's descriptor 3, which is then closed (the API's keys: never in its environment). */
  fd3?: string;
  /** An IPC channel (the launcher sends the API its stack status). */
  ipc?: boolean;
}

export class ManagedProcess {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private readonly onParentExit = (): void => {
    this.child.kill('SIGKILL');
  };
  /** The last lines it wrote, for error messages. */
  readonly tail: string[] = [];

  constructor(readonly spec: ProcessSpec) {
    const stdio: StdioOptions = ['ignore', 'pipe', 'pipe', spec.fd3 === undefined ? 'ignore' : 'pipe'];
    if (spec.ipc) stdio.push('ipc');
    this.child = spawn(spec.command, spec.args, {
      env: spec.env ?? childEnv(process.env),
      cwd: spec.cwd,
      stdio,
      // A process group of its own: Ctrl-C reaches only the launcher, which stops the processes
      // in order (API and workers before Temporal, Temporal before PostgreSQL).
      detached: true,
    });
    if (spec.fd3 !== undefined) {
      const fd3 = this.child.stdio[3] as NodeJS.WritableStream | null;
      fd3?.on('error', () => undefined); // a child that exits before reading it
      fd3?.end(spec.fd3);
    }
    this.exited = new Promise((res) => {
      this.child.once('exit', (code, signal) => {
        process.removeListener('exit', this.onParentExit);
        // What it left behind in its group (PostgreSQL's backends after a kill -9 of the postmaster)
        // would hold its port and shared memory against the next start.
        this.killGroup();
        res({ code, signal });
      });
      this.child.once('error', (err) => {
        this.line(`failed to start ${spec.command}: ${err.message}`);
        res({ code: 127, signal: null });
      });
    });
    process.once('exit', this.onParentExit);
    for (const stream of [this.child.stdout, this.child.stderr]) forEachLine(stream, (l) => this.line(l));
  }

  /** SIGKILL to the child's process group (it leads one: spawned detached). */
  private killGroup(): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // the group is empty: nothing left behind
    }
  }

  /** Sends a message over the IPC channel, if it has one and the child still listens. */
  send(message: unknown): void {
    if (!this.child.connected) return;
    this.child.send(message as object, (err) => {
      void err; // it exited meanwhile: the next start gets the status again
    });
  }

  private line(text: string): void {
    this.tail.push(text);
    if (this.tail.length > 40) this.tail.shift();
    this.spec.onLine(this.spec.name, text);
  }

  get name(): string {
    return this.spec.name;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `signal`, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 15_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.running) return;
    this.child.kill(signal);
    const timer = setTimeout(() => {
      this.spec.onLine('cluster', `${this.name} did not stop within ${graceMs} ms; killing it`);
      this.child.kill('SIGKILL');
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** `kill -9` of it and its process group: no chance to clean up. */
  async kill9(): Promise<void> {
    if (!this.running) return;
    this.killGroup();
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/**
 * Runs a command to completion, with `input` on its standard input (none when absent); rejects
 * with its output when it fails.
 */
export function run(
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<string> {
  return new Promise((res, rej) => {
    const child = spawn(command, args, {
      env: opts.env ?? process.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    child.stdin?.end(opts.input);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.once('error', (err) => rej(new Error(`cannot run ${command}: ${err.message}`, { cause: err })));
    child.once('close', (code) => {
      if (code === 0) res(out);
      else rej(new Error(`${command} ${args.join(' ')} exited with code ${code}:\n${out.trim()}`));
    });
  });
}

/** Thrown by a readiness check when waiting longer is pointless (the process exited). */
export class GaveUp extends Error {
  override name = 'GaveUp';
}

/**
 * Polls `check` until it resolves true, or throws after `timeoutMs` with `what` and the last
 * error; a {@link GaveUp} thrown by `check` ends the wait at once.
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      if (err instanceof GaveUp) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what} not ready within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
