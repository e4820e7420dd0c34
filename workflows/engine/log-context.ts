/**
 * The job context of the current workflow for its log lines: which steps are running. The runner
 * records step starts and ends here; the log interceptor (`workflows/interceptors.ts`) reads it.
 * Module state is per workflow execution: the sandbox gives each execution its own module cache.
 */

/** Keys of the running steps, in the order they started (independent steps run concurrently). */
const running: string[] = [];

export function stepStarted(key: string): void {
  running.push(key);
}

export function stepEnded(key: string): void {
  const i = running.lastIndexOf(key);
  if (i >= 0) running.splice(i, 1);
}

/** The most recently started step that is still running, or null between steps. */
export function currentStepKey(): string | null {
  return running.length > 0 ? running[running.length - 1] : null;
}
