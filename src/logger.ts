/**
 * The project's structured logger: one JSON object per line. It implements Temporal's `Logger`
 * so the worker's Runtime logger (workflow and activity logs included) goes through it too.
 */
import type { LogLevel as TemporalLogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';

export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50 };

export class JsonLogger implements TemporalLogger {
  constructor(
    private readonly component: string,
    private readonly minLevel: Level = 'info',
    private readonly write: (line: string) => void = (line) => process.stdout.write(line + '\n'),
  ) {}

  log(level: TemporalLogLevel | Level, message: string, meta?: LogMetadata): void {
    const lvl = level.toLowerCase() as Level;
    if (ORDER[lvl] < ORDER[this.minLevel]) return;
    // The SDK's "Activity started" comes before the job context is known; the activity
    // interceptor (activities/log.ts) writes it again with the context.
    if (message === 'Activity started' && meta?.sdkComponent === 'worker' && !('jobId' in meta)) return;
    const entry: Record<string, unknown> = {
      time: new Date().toISOString(),
      level: lvl,
      component: this.component,
      message,
    };
    if (meta) {
      for (const [k, v] of Object.entries(meta)) {
        // Temporal passes timestamps in nanoseconds as bigint.
        entry[k] =
          typeof v === 'bigint'
            ? v.toString()
            : v instanceof Error
              ? { message: v.message, stack: v.stack }
              : v;
      }
    }
    if ('jobId' in entry) {
      // Job lines carry all four job fields; Temporal's logger drops null metadata on the way here.
      entry.parentJobId ??= null;
      entry.step ??= null;
    }
    this.write(safeStringify(entry));
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('trace', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('debug', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('info', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('warn', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('error', message, meta);
  }
  child(component: string): JsonLogger {
    return new JsonLogger(`${this.component}.${component}`, this.minLevel, this.write);
  }
}

function safeStringify(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v && typeof v === 'object') {
      if (seen.has(v)) return '[circular]';
      seen.add(v);
    }
    return v;
  });
}
