/**
 * The launchers' console: one stream of lines, each labelled with the process it comes from
 * (`[worker]`, `[api]`, …), coloured in a terminal; and the status table printed once everything
 * is up.
 */
import type { StackStatus } from './stack-status';

const COLORS: Record<string, string> = {
  temporal: '35',
  'temporal-ui': '35',
  postgres: '34',
  worker: '36',
  api: '32',
  build: '90',
  dashboard: '90',
};

export class LauncherConsole {
  private readonly color: boolean;

  /**
   * @param self The launcher's own label (`start`, `cluster`).
   * @param width Width of the label column.
   */
  constructor(
    private readonly self: string,
    private readonly width: number,
    color = process.stdout.isTTY === true && !process.env.NO_COLOR,
  ) {
    this.color = color;
  }

  private label(name: string): string {
    const tag = `[${name}]`.padEnd(this.width);
    if (!this.color) return tag;
    const code = COLORS[name] ?? (name.startsWith('worker') ? COLORS.worker : '33');
    return `\u001b[${code}m${tag}\u001b[0m`;
  }

  /** A line of process `name`. */
  line(name: string, text: string): void {
    process.stdout.write(`${this.label(name)}${text}\n`);
  }

  /** A line of the launcher itself. */
  say(text: string): void {
    this.line(this.self, text);
  }

  /** Each process with its pid and restarts, one line. */
  processes(status: StackStatus): void {
    const parts = status.processes.map(
      (p) => `${p.name} ${p.pid ?? '-'}${p.restarts > 0 ? ` (${p.restarts} restarts)` : ''}`,
    );
    this.say(`  Processes    ${parts.join(' · ')}`);
  }
}
