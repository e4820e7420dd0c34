// The Go builds the install scripts share (install-temporal-cli, install-cluster-tools,
// install-deploy-tools): finding `go`, and one build into a staging folder, so that a build that
// fails or is interrupted never leaves a half-written tool where the scripts look for it.
// Plain ESM JavaScript on purpose: it runs before anything is compiled.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** The path of `cmd` on PATH, or null. */
export function which(cmd) {
  const out = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return out.status === 0 ? out.stdout.trim() : null;
}

/** `go version`'s line. */
export const goVersion = (go) => spawnSync(go, ['version'], { encoding: 'utf8' }).stdout.trim();

/**
 * Runs `go <args(staging)>` with GOBIN (and any `-o` the arguments name) in a new staging folder
 * under `toolsDir`, saying every 30 s that it still builds; returns the staging folder. On a failed
 * build the folder is removed and `fail` is called with the exit code.
 *
 * @param {object} o
 * @param {string} o.go the go binary
 * @param {(staging: string) => string[]} o.args the arguments
 * @param {string} o.toolsDir where the staging folder goes
 * @param {(msg: string) => void} o.log
 * @param {(msg: string) => never} o.fail
 * @param {string} [o.cwd] the working directory (a module of its own)
 * @param {string} [o.goflags] GOFLAGS when the environment sets none
 */
export async function goBuild({ go, args, toolsDir, log, fail, cwd, goflags = '-buildvcs=false' }) {
  mkdirSync(toolsDir, { recursive: true });
  const staging = mkdtempSync(join(toolsDir, '.build-'));
  const started = Date.now();
  const full = args(staging);
  log(`go ${full.join(' ')}`);
  const child = spawn(go, full, {
    cwd,
    env: { ...process.env, GOBIN: staging, GOFLAGS: process.env.GOFLAGS ?? goflags },
    stdio: 'inherit',
  });
  const ticker = setInterval(
    () => log(`still building… ${Math.round((Date.now() - started) / 1000)}s elapsed`),
    30_000,
  );
  const code = await new Promise((res) => child.on('close', res));
  clearInterval(ticker);
  if (code !== 0) {
    rmSync(staging, { recursive: true, force: true });
    fail(
      `go exited with code ${code}; see the Go output above (network access to the Go module proxy is required)`,
    );
  }
  log(`built in ${Math.round((Date.now() - started) / 1000)}s`);
  return staging;
}
