/**
 * Keeping file access inside configured roots. Every path a job names is resolved against its
 * root and checked twice: lexically (no `..` escape, no absolute path elsewhere) and by real path
 * (a symbolic link anywhere on the way must not lead out of the root).
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';

/** Mode of every data folder Stepwise creates (owner only, whatever the process umask). */
export const DIR_MODE = 0o700;
/** Mode of every data file Stepwise creates. */
export const FILE_MODE = 0o600;

/** `mkdir -p` whose created folders get mode 0700 (a folder that exists keeps its own). */
export async function mkdirPrivate(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: DIR_MODE });
}

/** Error type of every refused path; non-retryable, since retrying cannot change the answer. */
export const PATH_REFUSED = 'PathRefused';

export function pathRefused(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, PATH_REFUSED);
}

/** True when `p` is `root` or below it (both absolute and normalized). */
export function isInside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

function lexical(root: string, p: string, what: string): string {
  if (p.includes('\0')) throw pathRefused(`${what} "${p}" contains a NUL byte`);
  const candidate = resolve(root, p);
  if (!isInside(root, candidate)) {
    throw pathRefused(`${what} "${p}" is outside the allowed root ${root}`);
  }
  return candidate;
}

/**
 * The real path of the existing file or folder `p` (relative to `root`, or absolute), which must
 * be inside `root` after following every symbolic link. Throws a non-retryable `PathRefused`
 * failure otherwise, or when it does not exist.
 */
export async function resolveExistingInside(root: string, p: string, what: string): Promise<string> {
  const absRoot = resolve(root);
  const candidate = lexical(absRoot, p, what);
  await mkdirPrivate(absRoot);
  const realRoot = await realpath(absRoot);
  let real: string;
  try {
    real = await realpath(candidate);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw pathRefused(`${what} "${p}" does not exist`);
    throw err;
  }
  if (!isInside(realRoot, real)) {
    throw pathRefused(
      `${what} "${p}" resolves outside the allowed root ${absRoot} (through a symbolic link)`,
    );
  }
  return real;
}

/**
 * Creates (if needed) the folder `p` inside `root` and returns its real path. The deepest part
 * that already exists is checked by real path before anything is created under it, so a link
 * on the way cannot make us create folders elsewhere.
 */
export async function ensureDirInside(root: string, p: string, what: string): Promise<string> {
  const absRoot = resolve(root);
  return ensureChecked(absRoot, lexical(absRoot, p, what), p, what);
}

/** {@link ensureDirInside} for an already lexically checked absolute `candidate`; messages name `p`. */
async function ensureChecked(absRoot: string, candidate: string, p: string, what: string): Promise<string> {
  await mkdirPrivate(absRoot);
  const realRoot = await realpath(absRoot);
  let existing = candidate;
  for (;;) {
    try {
      await lstat(existing);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      existing = dirname(existing);
    }
  }
  if (!isInside(realRoot, await realpath(existing))) {
    throw pathRefused(
      `${what} "${p}" resolves outside the allowed root ${absRoot} (through a symbolic link)`,
    );
  }
  await mkdirPrivate(candidate);
  const real = await realpath(candidate);
  if (!isInside(realRoot, real)) {
    throw pathRefused(
      `${what} "${p}" resolves outside the allowed root ${absRoot} (through a symbolic link)`,
    );
  }
  return real;
}

/** Where a folder inside a root is, or will be: see {@link resolveFolderTarget}. */
export interface FolderTarget {
  /** Real path of the parent folder (inside the root). */
  parent: string;
  /** The folder's own name. */
  name: string;
  /** `parent/name`: the folder's real path once it exists. */
  path: string;
  exists: boolean;
}

/**
 * Where the folder `p` (relative to `root`, or absolute inside it) is or will be, without creating
 * it: its parent is created if needed and checked by real path like {@link ensureDirInside}; the
 * folder itself must not be the root, a symbolic link or a file. Throws `PathRefused` otherwise.
 */
export async function resolveFolderTarget(root: string, p: string, what: string): Promise<FolderTarget> {
  const absRoot = resolve(root);
  const candidate = lexical(absRoot, p, what);
  if (candidate === absRoot) {
    throw pathRefused(`${what} "${p}" is the root ${absRoot} itself; name a folder below it`);
  }
  const parent = await ensureChecked(absRoot, dirname(candidate), p, what);
  const name = basename(candidate);
  const path = join(parent, name);
  try {
    const st = await lstat(path);
    if (st.isSymbolicLink()) throw pathRefused(`${what} "${p}" is a symbolic link; refused`);
    if (!st.isDirectory()) throw pathRefused(`${what} "${p}" exists and is not a folder`);
    return { parent, name, path, exists: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return { parent, name, path, exists: false };
  }
}

/** A folder name for a job id (which may hold `/` and `:`): readable, and unique through a short hash. */
export function safeName(id: string): string {
  const readable = id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);
  return `${readable}-${createHash('sha256').update(id).digest('hex').slice(0, 8)}`;
}

/** The scratch folder of one job. */
export function jobWorkDir(workRoot: string, scope: 'import' | 'dataset', jobId: string): string {
  return resolve(workRoot, scope, safeName(jobId));
}
