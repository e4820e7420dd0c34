/**
 * How `datasetStore` puts a dataset folder in place.
 *
 * - **One build per folder.** A lock file next to the folder, `.<name>.lock`, is created
 *   atomically (written aside, then hard-linked into place: it exists complete or not at all) and
 *   names the job, step attempt, process and host holding it, with a token unique to the holding.
 *   Another job's build into the same folder fails with a non-retryable `OutputDirBusy` naming
 *   the holder. A lock left by a worker that died stays until that job's retry or recovery takes
 *   it over, or until someone deletes it after checking the holder is not running.
 * - **Fenced by attempt.** The holder touches its lock every few seconds (its lease). A later
 *   attempt of the same job waits while an earlier attempt's lease is live — that attempt may
 *   still be running on a worker that lost Temporal — and takes the lock over only once it is
 *   stale (not touched for `staleMs`, or its process is gone on this host). Before every write
 *   into the folder the holder checks the lock still names its own token and its lease is fresh,
 *   so an attempt whose lock was taken over stops with `LockLost` instead of committing. Left
 *   open: a holder frozen for longer than the lease between that check and the rename right
 *   after it (a POSIX rename cannot be made conditional on the lock).
 * - **Staging, then rename.** The dataset is built complete (images and `manifest.json`) in a
 *   staging folder next to it, `.<name>.staging-<job>-<holding>`, private to the holding (0700). A new folder is moved into place by one
 *   rename. An existing one is updated file by file with renames (images are named by content, so
 *   a file at a given path never changes meaning), and the manifest's rename commits the switch.
 * - **Only what the dataset owns.** When replacing, only files the previous `manifest.json` listed
 *   (`images/<label>/<hash>.<ext>`, nothing else) and the new one does not are deleted; other files
 *   in the folder are left alone, and a file the manifest does not list is never overwritten with
 *   different content.
 * - **No links.** A symbolic link anywhere in an existing dataset folder refuses the build
 *   (`PathRefused`), so writes and deletes cannot be redirected out of it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, lstat, readFile, readdir, rename, rm, rmdir, stat, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { mkdirPrivate, pathRefused, safeName, type FolderTarget } from '../paths';
import { writePrivateFile } from '../safe-open';

/** Error type of a build refused because another one holds the folder. */
export const OUTPUT_DIR_BUSY = 'OutputDirBusy';
/** Error type of an attempt whose lock was taken over by a later attempt: it must not commit. */
export const LOCK_LOST = 'LockLost';

/** The only paths a dataset owns: what {@link datasetStore} writes. */
export const DATASET_FILE = /^images\/[a-z0-9][a-z0-9_-]{0,63}\/[0-9a-f]{16}\.(png|jpg|gif|webp)$/;

export interface LockHolder {
  jobId: string;
  /** The step attempt holding it (absent in locks written before attempts were recorded). */
  attempt?: number;
  /** Unique per holding: what the holder checks before every write into the folder. */
  token?: string;
  pid: number;
  host: string;
  since: string;
}

/**
 * How a lock's holder shows it is alive: it touches the lock file every `renewMs`; a lock not
 * touched for `staleMs` (or whose holder's process is gone, on the same host) is stale, and only
 * then may a later attempt of the same job take it over.
 */
export interface LeaseOptions {
  /** @default 5000 */
  renewMs: number;
  /** @default 60000 — the store step's heartbeat timeout: as long as Temporal waits for a lost worker. */
  staleMs: number;
  /** Waits between two looks at a lock held by a live earlier attempt (the activity's cancellable sleep). */
  wait: (ms: number) => Promise<void>;
  /** Called while waiting, so the waiting attempt keeps heartbeating. */
  heartbeat: () => void;
}

export const DEFAULT_LEASE: LeaseOptions = {
  renewMs: 5_000,
  staleMs: 60_000,
  wait: (ms) => new Promise((r) => setTimeout(r, ms)),
  heartbeat: () => undefined,
};

export const lockPath = (t: FolderTarget): string => join(t.parent, `.${t.name}.lock`);
/** One staging folder per holding: a stale attempt that wakes up cannot write into its successor's. */
export const stagingPath = (t: FolderTarget, jobId: string, token: string): string =>
  join(t.parent, `.${t.name}.staging-${safeName(jobId)}-${token.slice(0, 8)}`);
const stagingPrefix = (t: FolderTarget, jobId: string): string => `.${t.name}.staging-${safeName(jobId)}-`;

async function readHolder(path: string): Promise<{ holder: LockHolder; touchedAt: number } | null> {
  try {
    const [text, st] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { holder: JSON.parse(text) as LockHolder, touchedAt: st.mtimeMs };
  } catch {
    return null;
  }
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** A lock this attempt holds; see {@link acquireLock}. */
export interface HeldLock {
  readonly holder: LockHolder;
  readonly token: string;
  /**
   * Throws a retryable `LockLost` failure unless the lock file still names this holding and its
   * lease was renewed recently: called right before every write into the dataset folder, so an
   * attempt whose lock a later attempt took over never commits.
   */
  assertHeld(): Promise<void>;
  /** Stops renewing and removes the lock if it is still this holding's. */
  release(): Promise<void>;
}

/**
 * Takes the folder's lock for `jobId`'s step attempt `attempt`. Another job's lock: a
 * non-retryable `OutputDirBusy` naming the holder. An earlier attempt of the same job: waited
 * for while its lease is live (it may still be running: a worker that lost Temporal, a process
 * paused for a while), taken over once it is stale.
 */
export async function acquireLock(
  t: FolderTarget,
  jobId: string,
  attempt: number,
  outputDir: string,
  lease: LeaseOptions = DEFAULT_LEASE,
): Promise<HeldLock> {
  const path = lockPath(t);
  const token = randomUUID();
  const me: LockHolder = {
    jobId,
    attempt,
    token,
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
  };
  const aside = `${path}.${token}`;
  await writePrivateFile(aside, JSON.stringify(me) + '\n');
  try {
    for (;;) {
      try {
        await link(aside, path);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const found = await readHolder(path);
      if (!found) {
        if (!(await exists(path))) continue; // released (or being taken over) meanwhile: try again
      }
      if (found?.holder.jobId !== jobId) {
        const holder = found?.holder;
        const who = holder
          ? `job ${holder.jobId} (pid ${holder.pid} on ${holder.host}, since ${holder.since})`
          : 'another build';
        throw ApplicationFailure.nonRetryable(
          `outputDir "${outputDir}" is being built by ${who}: one build per folder at a time. ` +
            `If that build is no longer running, delete the lock file ${path} and run this job again.`,
          OUTPUT_DIR_BUSY,
        );
      }
      const { holder, touchedAt } = found;
      const stale =
        (holder.host === me.host && processGone(holder.pid)) || Date.now() - touchedAt > lease.staleMs;
      if (!stale) {
        // An earlier attempt of this job that may still be running: never build beside it.
        lease.heartbeat();
        await lease.wait(Math.min(lease.renewMs, lease.staleMs));
        continue;
      }
      await takeOver(path, holder, `${path}.taken-${token}`);
    }
  } finally {
    await rm(aside, { force: true });
  }
  // Leftovers of earlier holdings of this job (a stale attempt's staging folder).
  const prefix = stagingPrefix(t, jobId);
  for (const name of await readdir(t.parent)) {
    if (name.startsWith(prefix)) await rm(join(t.parent, name), { recursive: true, force: true });
  }
  return holdLock(path, me, token, lease);
}

/**
 * Removes the stale lock of `holder` from `path`: moved aside under a name of our own, then
 * checked to be that very lock. When another taker replaced it meanwhile, its lock is put back
 * (or, if a third one got in, dropped: its owner's next {@link HeldLock.assertHeld} fails).
 */
async function takeOver(path: string, holder: LockHolder, grave: string): Promise<void> {
  try {
    await rename(path, grave);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    const moved = await readHolder(grave);
    const same =
      moved !== null &&
      moved.holder.token === holder.token &&
      moved.holder.since === holder.since &&
      moved.holder.pid === holder.pid;
    if (!same) await link(grave, path).catch(() => undefined);
  } finally {
    await rm(grave, { force: true });
  }
}

function holdLock(path: string, me: LockHolder, token: string, lease: LeaseOptions): HeldLock {
  let renewedAt = Date.now();
  let lost = false;
  const renew = async (): Promise<void> => {
    const found = await readHolder(path);
    if (found?.holder.token !== token) {
      lost = true;
      return;
    }
    const now = new Date();
    await utimes(path, now, now);
    renewedAt = now.getTime();
  };
  const timer = setInterval(() => void renew().catch(() => undefined), lease.renewMs);
  timer.unref();
  return {
    holder: me,
    token,
    assertHeld: async () => {
      const found = await readHolder(path);
      if (lost || found?.holder.token !== token || Date.now() - renewedAt > lease.staleMs / 2) {
        const now = found?.holder;
        throw ApplicationFailure.retryable(
          `The lock of this dataset folder was taken over` +
            (now && now.token !== token ? ` by attempt ${now.attempt ?? '?'} of job ${now.jobId}` : '') +
            `: attempt ${me.attempt} of job ${me.jobId} stops without writing into it`,
          LOCK_LOST,
        );
      }
    },
    release: async () => {
      clearInterval(timer);
      const found = await readHolder(path);
      if (found?.holder.token !== token) return;
      // Moved aside first, then checked: never removes a lock another holder took meanwhile.
      const grave = `${path}.released-${token}`;
      try {
        await rename(path, grave);
      } catch {
        return;
      }
      const moved = await readHolder(grave);
      if (moved?.holder.token !== token) await link(grave, path).catch(() => undefined);
      await rm(grave, { force: true });
    },
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
  lock: Pick<HeldLock, 'assertHeld'>,
): Promise<{ removed: number }> {
  if (!t.exists) {
    try {
      await lock.assertHeld();
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
    await mkdirPrivate(dirname(dest));
    await lock.assertHeld();
    await rename(join(staging, file), dest);
  }
  // The commit point: from here on the folder is the new dataset.
  await lock.assertHeld();
  await rename(join(staging, 'manifest.json'), join(t.path, 'manifest.json'));
  const keep = new Set(files.map((f) => f.file));
  let removed = 0;
  const dirs = new Set<string>();
  for (const file of previous) {
    if (keep.has(file)) continue;
    const path = join(t.path, file);
    if (await isFile(path)) {
      await lock.assertHeld();
      await rm(path, { force: true });
      removed++;
      dirs.add(dirname(path));
    }
  }
  // Label folders the removals emptied (rmdir refuses a folder that still holds anything).
  for (const d of [...dirs, join(t.path, 'images')]) await rmdir(d).catch(() => undefined);
  return { removed };
}
