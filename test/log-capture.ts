/**
 * The Runtime logger of the temporal test processes: errors to the console as before, and every
 * line (any level) also to the sinks a test attaches, so a test can assert on what the worker logs.
 * The Runtime logger is per process, installed once in test/setup-runtime.ts.
 */
import type { LogLevel, LogMetadata, Logger } from '@temporalio/common';
import { DefaultLogger } from '@temporalio/worker';

export class TeeLogger implements Logger {
  private readonly sinks = new Set<Logger>();

  constructor(private readonly console: Logger) {}

  /** Sends every following line to `sink` too, until the returned function is called. */
  attach(sink: Logger): () => void {
    this.sinks.add(sink);
    return () => {
      this.sinks.delete(sink);
    };
  }

  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    this.console.log(level, message, meta);
    for (const sink of this.sinks) sink.log(level, message, meta);
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}

export const runtimeLogger = new TeeLogger(new DefaultLogger('ERROR'));
