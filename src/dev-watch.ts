/**
 * `npm run dev`: the TypeScript compiler in watch mode, as supervised processes of the launcher —
 * one for the Node side (`tsconfig.build.json` → dist/), one for the dashboard (src/dashboard →
 * dist/dashboard, its style sheets copied on change). Each is ready after its first compilation;
 * every later compilation without errors calls `onRebuilt`, and the launcher restarts the worker
 * and the API (the dev server keeps running). The compilers keep a build-info file under dist/,
 * so a start without changes rewrites no file.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { GaveUp, ManagedProcess, waitUntil, type LineSink } from './cluster/process';
import type { ServiceSpec } from './supervisor';

export interface TscWatchOptions {
  name: string;
  /** The project root (package.json's folder). */
  root: string;
  /** tsconfig file or folder, relative to the root. */
  project: string;
  /** Build-info file, relative to the root. */
  buildInfo: string;
  /** After a compilation caused by a change, without errors. */
  onRebuilt(): void;
  onLine: LineSink;
}

const DONE = /Found (\d+) errors?\. Watching for file changes\./;
const CHANGE = /File change detected\. Starting incremental compilation/;

/** A `tsc --watch` as a supervised service: ready after its first compilation. */
export function tscWatchService(opts: TscWatchOptions): ServiceSpec {
  let proc: ManagedProcess | null = null;
  let compiled = false;
  let changed = false;
  const tsc = require.resolve('typescript/bin/tsc', { paths: [opts.root] });
  const onLine: LineSink = (name, line) => {
    if (line.trim() === '') return;
    opts.onLine(name, line);
    if (CHANGE.test(line)) changed = true;
    const done = DONE.exec(line);
    if (!done) return;
    if (!compiled) compiled = true;
    else if (changed && done[1] === '0') opts.onRebuilt();
    else if (changed) opts.onLine(name, 'not restarting the worker and the API: fix the errors first');
    changed = false;
  };
  return {
    name: opts.name,
    async start() {
      compiled = false;
      changed = false;
      proc = new ManagedProcess({
        name: opts.name,
        command: process.execPath,
        args: [
          tsc,
          '-p',
          opts.project,
          '--watch',
          '--preserveWatchOutput',
          '--pretty',
          'false',
          '--incremental',
          '--tsBuildInfoFile',
          opts.buildInfo,
        ],
        cwd: opts.root,
        onLine,
      });
      const p = proc;
      await waitUntil(
        `${opts.name} (tsc --watch)`,
        async () => {
          if (!p.running) throw new GaveUp(`tsc --watch exited:\n${p.tail.join('\n')}`);
          return compiled;
        },
        300_000,
      );
    },
    current: () => proc,
    stop: async () => proc?.stop(5_000),
  };
}

/** Copies the dashboard's style sheets into its output on every change; returns the closer. */
export function watchStyles(srcDir: string, outDir: string, onChange: (file: string) => void): () => void {
  const copy = (file: string): void => {
    mkdirSync(outDir, { recursive: true });
    copyFileSync(join(srcDir, file), join(outDir, file));
  };
  for (const f of readdirSync(srcDir).filter((n) => n.endsWith('.css'))) copy(f);
  let timer: NodeJS.Timeout | null = null;
  const pending = new Set<string>();
  const watcher: FSWatcher = watch(srcDir, (_event, file) => {
    if (!file?.endsWith('.css')) return;
    pending.add(file);
    // Editors write a file in several steps: act once they are done.
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      for (const f of pending) if (existsSync(join(srcDir, f))) copy(f);
      const files = [...pending].join(', ');
      pending.clear();
      onChange(files);
    }, 200);
  });
  return () => {
    if (timer) clearTimeout(timer);
    watcher.close();
  };
}
