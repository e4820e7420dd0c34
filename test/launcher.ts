/**
 * A launcher (`npm start`, `npm run dev`, `npm run cluster`) started as a user starts it — the
 * compiled entry the npm script runs, as the leader of a process group of its own, like a
 * terminal's foreground job — and observed and broken from outside: its output lines, its
 * children as /proc shows them (pid, role, environment), Ctrl-C to its process group, `kill -9`
 * of a child by pid. Linux only (/proc).
 *
 * Cleanup stops only what it started: the launcher's group, then any process it saw among the
 * launcher's descendants that is still the same process (pid and start time).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { waitFor } from './helpers';

export const ROOT = resolve(__dirname, '..');

/**
 * What `npm run <name>` runs, read from package.json (`node <entry> <args…>`), so a test starts
 * exactly what the user starts: `npm start` is `stepwise dev` on the example app.
 */
export function npmScript(name: 'start' | 'dev' | 'cluster'): { entry: string; args: string[] } {
  const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const [node, entry, ...args] = (pkg.scripts[name] ?? '').trim().split(/\s+/);
  if (node !== 'node' || !entry)
    throw new Error(`npm run ${name} is not "node <entry> …": ${pkg.scripts[name]}`);
  return { entry: resolve(ROOT, entry), args };
}

export const NPM_START = npmScript('start');
export const NPM_DEV = npmScript('dev');
export const CLUSTER_JS = npmScript('cluster').entry;

interface ProcStat {
  pid: number;
  ppid: number;
  /** Start time in clock ticks since boot (tells a process from a later one with the same pid). */
  start: number;
}

function stat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(rest[1]), start: Number(rest[19]) };
  } catch {
    return null;
  }
}

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (s) out.push(s);
  }
  return out;
}

/** A process's environment as /proc shows it (what the kernel keeps, whatever the process deleted). */
export function environOf(pid: number): string {
  return readFileSync(`/proc/${pid}/environ`, 'utf8');
}

export function cmdlineOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
}

/** The launcher's name for a child, from its command line (and, for a worker, its identity). */
export function roleOf(pid: number): string {
  const cmd = cmdlineOf(pid);
  const line = cmd.join(' ');
  if (line.includes('worker.js')) {
    const id = /(?:^|\0)STEPWISE_WORKER_IDENTITY=([^\0]*)/.exec(environOf(pid));
    return id ? id[1] : 'worker';
  }
  if (line.includes('main.js')) return 'api';
  if (line.includes('start-dev')) return 'temporal';
  if (line.includes('temporal-server')) return 'temporal';
  if (line.includes('ui-server')) return 'temporal-ui';
  if (line.includes('typescript/bin/tsc')) return line.includes('src/dashboard') ? 'dashboard' : 'build';
  if (/\/postgres$/.test(cmd[0] ?? '') || line.includes('postgres -D')) return 'postgres';
  return `other:${cmd[0]}`;
}

/**
 * Pids of the processes whose command line or environment mention `text` (a launcher's data
 * folder: every process it starts names it), this test process excepted.
 */
export function processesMentioning(text: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const pid = Number(name);
      if (cmdlineOf(pid).join(' ').includes(text) || environOf(pid).includes(text)) found.push(pid);
    } catch {
      // exited, or not ours to read
    }
  }
  return found;
}

export interface LauncherChild {
  pid: number;
  role: string;
}

export class Launcher {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  /** Every descendant seen, for cleanup. */
  private readonly seen = new Map<number, number>();
  private partial = '';

  /**
   * @param opts.terminal Run it in a pseudo-terminal (script(1)), as in a user's terminal: its
   * output is a TTY, and {@link typeCtrlC} makes the terminal send SIGINT. Lines are kept without
   * colours and carriage returns. `opts.cwd`: its working directory (default: the repository).
   */
  constructor(
    entry: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    opts: { terminal?: boolean; cwd?: string } = {},
  ) {
    const command = [process.execPath, entry, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    this.child = opts.terminal
      ? spawn('script', ['-qefc', `exec ${command}`, '/dev/null'], {
          env,
          cwd: opts.cwd ?? ROOT,
          stdio: ['pipe', 'pipe', 'pipe'],
          detached: true,
        })
      : spawn(process.execPath, [entry, ...args], {
          env,
          cwd: opts.cwd ?? ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        });
    const onData = (d: Buffer): void => {
      this.partial += d.toString('utf8');
      let i: number;
      while ((i = this.partial.indexOf('\n')) >= 0) {
        // eslint-disable-next-line no-control-regex
        this.lines.push(this.partial.slice(0, i).replace(/\u001b\[[0-9;]*m|\r/g, ''));
        this.partial = this.partial.slice(i + 1);
      }
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    this.exited = new Promise((res) => this.child.once('exit', (code, signal) => res({ code, signal })));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  text(from = 0): string {
    return this.lines.slice(from).join('\n');
  }

  /** Waits for a line matching `re` (at or after line `from`); fails early if the launcher exits. */
  async waitForLine(re: RegExp, timeoutMs: number, from = 0): Promise<number> {
    const at = await waitFor(
      async () => {
        const i = this.lines.findIndex((l, n) => n >= from && re.test(l));
        if (i < 0 && !this.running) {
          throw new Error(`the launcher exited before printing ${re}:\n${this.text().slice(-6000)}`);
        }
        return i;
      },
      (i) => i >= 0,
      timeoutMs,
      100,
    );
    return at;
  }

  /** Its direct children now, with their roles. */
  children(): LauncherChild[] {
    const stats = allStats();
    const kids: LauncherChild[] = [];
    const walk = (ppid: number, depth: number): void => {
      for (const s of stats) {
        if (s.ppid !== ppid) continue;
        this.seen.set(s.pid, s.start);
        if (depth === 0) {
          try {
            kids.push({ pid: s.pid, role: roleOf(s.pid) });
          } catch {
            // exited meanwhile
          }
        }
        walk(s.pid, depth + 1);
      }
    };
    walk(this.pid, 0);
    return kids;
  }

  /** The pid of its child `role` (exactly one must exist). */
  pidOf(role: string): number {
    const found = this.children().filter((c) => c.role === role);
    if (found.length !== 1) {
      throw new Error(`expected one ${role}, found ${JSON.stringify(this.children())}`);
    }
    return found[0].pid;
  }

  /** Every pid seen under the launcher that still runs as the same process. */
  aliveSeen(): number[] {
    return [...this.seen].filter(([pid, start]) => stat(pid)?.start === start).map(([pid]) => pid);
  }

  /** Ctrl-C typed into the pseudo-terminal (`terminal` launchers): the terminal sends the SIGINT. */
  typeCtrlC(): void {
    this.child.stdin!.write('\u0003');
  }

  /** What a terminal sends on Ctrl-C: SIGINT to the whole foreground process group. */
  interrupt(): void {
    process.kill(-this.pid, 'SIGINT');
  }

  /** Stops what is left (after a failed test): Ctrl-C, then SIGKILL to what it started. */
  async cleanup(graceMs = 90_000): Promise<void> {
    this.children();
    if (this.running) {
      this.interrupt();
      await Promise.race([this.exited, new Promise((r) => setTimeout(r, graceMs).unref())]);
    }
    if (this.running) {
      try {
        process.kill(-this.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const pid of this.aliveSeen()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

/** The launcher's status detail from the API's readiness answer. */
export interface StackProcess {
  name: string;
  state: string;
  pid: number | null;
  restarts: number;
  lastExit: { code: number | null; signal: string | null; reason: string } | null;
}

export async function stackOf(apiUrl: string): Promise<StackProcess[] | null> {
  try {
    const res = await fetch(`${apiUrl}/health/ready`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { stack?: { processes: StackProcess[] } };
    return body.stack?.processes ?? null;
  } catch {
    return null;
  }
}
