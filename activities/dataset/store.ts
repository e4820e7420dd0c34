/**
 * How `datasetStore` puts a dataset folder in place.
 *
 * - **One build per folder.** A lock file next to the folder, `.<name>.lock`, is created
 *   atomically (written aside, then hard-linked into place: it exists complete or not at all) and
 *   names the job, process and host holding it. Another job's build into the same folder fails
 *   with a non-retryable `OutputDirBusy` naming the holder; a retry of the holding job itself
 *   takes its own lock over. A lock left by a worker that died stays until that job's retry or
 *   recovery takes it over, or until someone deletes it after checking the holder is not running.
 * - **Staging, then rename.** The dataset is built complete (images and `manifest.json`) in a
 *   staging folder next to it, `.<name>.staging-<job>`. A new folder is moved into place by one
 *   rename. An existing one is updated file by file with renames (images are named by content, so
 *   a file at a given path never changes meaning), and the manifest's rename commits the switch.
 * - **Only what the dataset owns.** When replacing, only files the previous `manifest.json` listed
 *   (`images/<label>/<hash>.<ext>`, nothing else) and the new one does not are deleted; other files
 *   in the folder are left alone, and a file the manifest does not list is never overwritten with
 *   different content.
 * - **No links.** A symbolic link anywhere in an existing dataset folder refuses the build
 *   (`PathRefused`), so writes and deletes cannot be redirected out of it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, lstat, mkdir, readFile, readdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { pathRefused, safeName, type FolderTarget } from '../paths';

/** Error type of a build refused because another one holds the folder. */
export const OUTPUT_DIR_BUSY = 'OutputDirBusy';

/** The only paths a dataset owns: what {@link datasetStore} writes. */
export const DATASET_FILE = /^images\/[a-z0-9][a-z0-9_-]{0,63}\/[0-9a-f]{16}\.(png|jpg|gif|webp)$/;

export interface LockHolder {
  jobId: string;
  pid: number;
  host: string;
  since: string;
}

export const lockPath = (t: FolderTarget): string => join(t.parent, `.${t.name}.lock`);
export const stagingPath = (t: FolderTarget, jobId: string): string =>
  join(t.parent, `.${t.name}.staging-${safeName(jobId)}`);

async function readHolder(path: string): Promise<LockHolder | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockHolder;
  } catch {
    return null;
  }
}

/**
 * Takes the folder's lock for `jobId`, or throws a non-retryable `OutputDirBusy` naming the
 * holder. Returns the release function.
 */
export async function acquireLock(
  t: FolderTarget,
  jobId: string,
  outputDir: string,
): Promise<() => Promise<void>> {
  const path = lockPath(t);
  const me: LockHolder = { jobId, pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const aside = `${path}.${process.pid}-${Math.random().toString(36).slice(2)}`;
  await writeFile(aside, JSON.stringify(me) + '\n');
  try {
    await link(aside, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const holder = await readHolder(path);
    if (holder?.jobId !== jobId) {
      const who = holder
        ? `job ${holder.jobId} (pid ${holder.pid} on ${holder.host}, since ${holder.since})`
        : 'another build';
      throw ApplicationFailure.nonRetryable(
        `outputDir "${outputDir}" is being built by ${who}: one build per folder at a time. ` +
          `If that build is no longer running, delete the lock file ${path} and run this job again.`,
        OUTPUT_DIR_BUSY,
      );
    }
    // Our own lock, left by an earlier attempt of this job that died: take it over.
    await rename(aside, path);
  } finally {
    await rm(aside, { force: true });
  }
  return async () => {
    const holder = await readHolder(path);
    if (holder?.jobId === me.jobId && holder.pid === me.pid && holder.since === me.since) {
      await rm(path, { force: true });
    }
  };
}

/** Refuses the build when `dir` holds a symbolic link anywhere below it. */
export async function refuseLinks(dir: string, outputDir: string, base = dir): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isSymbolicLink()) {
      throw pathRefused(
        `outputDir "${outputDir}" holds a symbolic link, ${relative(base, p).split(sep).join('/')}: ` +
          'a dataset folder may not contain links; remove it and run the job again',
      );
    }
    if (e.isDirectory()) await refuseLinks(p, outputDir, base);
  }
}

/** The files the folder's current `manifest.json` lists (only well-formed dataset paths). */
export async function ownedFiles(dir: string): Promise<Set<string>> {
  let manifest: unknown;
  try {
    manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  } catch {
    return new Set();
  }
  const items = (manifest as { items?: unknown }).items;
  if (!Array.isArray(items)) return new Set();
  return new Set(
    items
      .map((i) => (i as { file?: unknown }).file)
      .filter((f): f is string => typeof f === 'string' && DATASET_FILE.test(f)),
  );
}

function sha256File(path: string): Promise<string> {
  return new Promise((res, rej) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('error', rej)
      .on('end', () => res(h.digest('hex')));
  });
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Moves the dataset built in `staging` (its `files`, with their SHA-256, and `manifest.json`)
 * into the folder `t`: one rename for a new folder; for an existing one, a rename per file, then
 * the manifest, then the deletion of the files only the previous manifest listed.
 * Returns how many earlier files were removed.
 */
export async function publish(
  t: FolderTarget,
  staging: string,
  files: { file: string; sha256: string }[],
  outputDir: string,
  heartbeat: () => void,
): Promise<{ removed: number }> {
  if (!t.exists) {
    try {
      await rename(staging, t.path);
      return { removed: 0 };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      // Created meanwhile by something else: update it like an existing folder.
      await refuseLinks(t.path, outputDir);
    }
  }
  const previous = await ownedFiles(t.path);
  for (const { file, sha256 } of files) {
    heartbeat();
    const dest = join(t.path, file);
    if (!previous.has(file) && (await isFile(dest)) && (await sha256File(dest)) !== sha256) {
      throw ApplicationFailure.nonRetryable(
        `outputDir "${outputDir}" already has a file ${file} that its manifest does not list, with other content; ` +
          'not overwritten: move it away and run the job again',
        'OutputFileConflict',
      );
    }
    await mkdir(dirname(dest), { recursive: true });
    await rename(join(staging, file), dest);
  }
  // The commit point: from here on the folder is the new dataset.
  await rename(join(staging, 'manifest.json'), join(t.path, 'manifest.json'));
  const keep = new Set(files.map((f) => f.file));
  let removed = 0;
  const dirs = new Set<string>();
  for (const file of previous) {
    if (keep.has(file)) continue;
    const path = join(t.path, file);
    if (await isFile(path)) {
      await rm(path, { force: true });
      removed++;
      dirs.add(dirname(path));
    }
  }
  // Label folders the removals emptied (rmdir refuses a folder that still holds anything).
  for (const d of [...dirs, join(t.path, 'images')]) await rmdir(d).catch(() => undefined);
  return { removed };
}
