/**
 * Opening files so that what is read is the file that was checked. A name can change between a
 * check and a read (a file swapped for a symbolic link, a folder on the way swapped for a link
 * elsewhere), so the checks are made on the opened file itself:
 *
 * - the last component is opened with `O_NOFOLLOW`, so a link there is refused, not followed;
 * - `fstat` of the descriptor: it must be a regular file (never a FIFO, a device or a folder), and,
 *   when the caller recorded it during a scan, the same file (device and inode) as then;
 * - where the descriptor really points, from the kernel's own record (`/proc/self/fd/<fd>`), must
 *   be inside the root: a link swapped in on the way is caught even though `O_NOFOLLOW` only
 *   guards the last component.
 *
 * Files the activities write get mode 0600 and their folders 0700 (explicitly, whatever the
 * process umask), and are opened with `O_NOFOLLOW` too.
 */
import { constants, type Stats } from 'node:fs';
import { open, readlink, realpath, stat, type FileHandle } from 'node:fs/promises';
import { FILE_MODE, isInside, pathRefused } from './paths';

/** A file's identity at a scan, to recognise it when it is opened later. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

export const identityOf = (st: Stats): FileIdentity => ({ dev: st.dev, ino: st.ino });

export interface OpenedFile {
  fh: FileHandle;
  /** `fstat` of the opened file. */
  stat: Stats;
}

/** Where the descriptor `fd` really points, or null where the platform does not say (no /proc). */
async function descriptorPath(fd: number): Promise<string | null> {
  try {
    return await readlink(`/proc/self/fd/${fd}`);
  } catch {
    return null;
  }
}

/**
 * Opens the regular file `path` for reading and checks the opened file: a regular file, inside
 * `realRoot` (a real path), and the same file as `expect` when given. Throws a non-retryable
 * `PathRefused` naming `what` otherwise (and closes what it opened). The caller closes `fh`.
 */
export async function openInside(
  realRoot: string,
  path: string,
  what: string,
  expect?: FileIdentity,
): Promise<OpenedFile> {
  let fh: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO must not hang the activity; it is refused just below.
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw pathRefused(`${what} "${path}" is a symbolic link; not followed`);
    if (code === 'ENOENT') throw pathRefused(`${what} "${path}" does not exist`);
    throw err;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw pathRefused(`${what} "${path}" is not a regular file`);
    let where = await descriptorPath(fh.fd);
    if (where === null) {
      // Without /proc: the name's real path must be inside and name the very file we opened.
      where = await realpath(path);
      const named = await stat(where);
      if (named.dev !== st.dev || named.ino !== st.ino) {
        throw pathRefused(`${what} "${path}" changed while it was opened; refused`);
      }
    }
    if (!isInside(realRoot, where)) {
      throw pathRefused(`${what} "${path}" resolves outside the allowed root ${realRoot}; refused`);
    }
    if (expect && (st.dev !== expect.dev || st.ino !== expect.ino)) {
      throw pathRefused(`${what} "${path}" was replaced after it was scanned; refused`);
    }
    return { fh, stat: st };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** Bytes read per call by {@link readBounded}: the activity heartbeats between two. */
export const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * Reads the opened file from its start, at most `maxBytes` (a file that grew past it since its
 * `fstat` is cut there and reported by `truncated`), calling `onChunk` after every chunk.
 */
export async function readBounded(
  fh: FileHandle,
  maxBytes: number,
  onChunk: () => void = () => undefined,
): Promise<{ data: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const want = Math.min(READ_CHUNK_BYTES, maxBytes + 1 - total);
    if (want <= 0) break;
    const buf = Buffer.allocUnsafe(want);
    const { bytesRead } = await fh.read(buf, 0, want, total);
    if (bytesRead === 0) break;
    chunks.push(buf.subarray(0, bytesRead));
    total += bytesRead;
    onChunk();
  }
  const data = Buffer.concat(chunks, total);
  return total > maxBytes
    ? { data: data.subarray(0, maxBytes), truncated: true }
    : { data, truncated: false };
}

/**
 * Creates (or truncates) `path` for writing with mode 0600, refusing a symbolic link in its
 * place; an existing file gets its mode set to 0600 too.
 */
export async function createPrivateFile(path: string): Promise<FileHandle> {
  const fh = await open(
    path,
    constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
    FILE_MODE,
  );
  try {
    await fh.chmod(FILE_MODE);
    return fh;
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** Writes `data` to `path` as {@link createPrivateFile} does. */
export async function writePrivateFile(path: string, data: string | Uint8Array): Promise<void> {
  const fh = await createPrivateFile(path);
  try {
    await fh.writeFile(data);
  } finally {
    await fh.close();
  }
}
