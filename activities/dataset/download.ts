/**
 * Downloads with limits: a content-type allow-list, a size limit enforced while streaming (the
 * transfer is aborted past it, whatever Content-Length said), a timeout per attempt, and
 * retries with backoff for failures that may pass (network errors, 5xx, 408, 429).
 */
import { open, rename, rm } from 'node:fs/promises';

export interface DownloadLimits {
  maxBytes: number;
  attempts: number;
  timeoutMs: number;
  contentTypes: string[];
  /** First retry delay; doubled per attempt. */
  backoffMs?: number;
}

/** A download that did not succeed; `retryable` says whether another attempt may. */
export class DownloadError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export function contentTypeAllowed(contentType: string, allowed: string[]): boolean {
  return allowed.some((a) => (a.endsWith('/*') ? contentType.startsWith(a.slice(0, -1)) : contentType === a));
}

/** One attempt: streams `url` into `dest` (through a `.part` file) or throws a {@link DownloadError}. */
export async function downloadOnce(
  url: string,
  dest: string,
  limits: DownloadLimits,
  cancel?: AbortSignal,
): Promise<{ bytes: number; contentType: string }> {
  const abort = new AbortController();
  const signals = [abort.signal, AbortSignal.timeout(limits.timeoutMs), ...(cancel ? [cancel] : [])];
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.any(signals), redirect: 'follow' });
  } catch (err) {
    if (cancel?.aborted) throw err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why =
      (err as Error).name === 'TimeoutError' ? 'timed out' : (cause?.code ?? cause?.message ?? String(err));
    throw new DownloadError(`request failed: ${why}`, true);
  }
  const stop = async (): Promise<void> => {
    abort.abort();
    await res.body?.cancel().catch(() => undefined);
  };
  if (!res.ok) {
    await stop();
    const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
    throw new DownloadError(`HTTP ${res.status} ${res.statusText}`.trim(), retryable);
  }
  const contentType = (res.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (!contentTypeAllowed(contentType, limits.contentTypes)) {
    await stop();
    throw new DownloadError(
      `content type "${contentType || 'none'}" is not accepted (accepted: ${limits.contentTypes.join(', ')})`,
      false,
    );
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > limits.maxBytes) {
    await stop();
    throw new DownloadError(
      `is ${declared} bytes (Content-Length), over the ${limits.maxBytes}-byte limit`,
      false,
    );
  }
  const part = `${dest}.part`;
  const fh = await open(part, 'w');
  let bytes = 0;
  try {
    if (res.body) {
      for await (const chunk of res.body) {
        bytes += chunk.byteLength;
        if (bytes > limits.maxBytes) {
          await stop();
          throw new DownloadError(`exceeded the ${limits.maxBytes}-byte limit; transfer aborted`, false);
        }
        await fh.write(chunk);
      }
    }
  } catch (err) {
    await fh.close();
    await rm(part, { force: true });
    if (err instanceof DownloadError || cancel?.aborted) throw err;
    throw new DownloadError(`transfer failed: ${(err as Error).message}`, true);
  }
  await fh.close();
  await rename(part, dest);
  return { bytes, contentType };
}

/**
 * {@link downloadOnce} with up to `limits.attempts` attempts. `sleep` waits between attempts
 * (the activity's cancellable sleep); `onRetry` hears about each failed attempt.
 */
export async function downloadWithRetries(
  url: string,
  dest: string,
  limits: DownloadLimits,
  sleep: (ms: number) => Promise<void>,
  cancel?: AbortSignal,
  onRetry?: (attempt: number, err: DownloadError) => void,
): Promise<{ bytes: number; contentType: string; attempts: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return { ...(await downloadOnce(url, dest, limits, cancel)), attempts: attempt };
    } catch (err) {
      if (!(err instanceof DownloadError) || !err.retryable || attempt >= limits.attempts) {
        if (err instanceof DownloadError && err.retryable) {
          throw new DownloadError(`${err.message} (after ${attempt} attempts)`, false);
        }
        throw err;
      }
      onRetry?.(attempt, err);
      await sleep((limits.backoffMs ?? 250) * 2 ** (attempt - 1));
    }
  }
}
