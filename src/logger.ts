/**
 * The project's one structured logger, on pino: one JSON object per line (`time`, `level`,
 * `component`, `message`, then the fields), or pino-pretty's readable lines when the output is a
 * terminal (LOG_FORMAT=auto; `json` / `pretty` force one). It implements Temporal's `Logger`, so
 * the worker's Runtime logger — workflow (through the SDK's logger sink) and activity logs
 * included — goes through it; the API's Nest logger and request log go through it too
 * (src/main.ts, src/api/metrics/request-log.ts). Errors keep their type, stack and cause chain.
 * No secret reaches a line: credential fields and credentials in text are redacted (src/redact.ts).
 */
import type { LoggerService } from '@nestjs/common';
import type { LogLevel as TemporalLogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import pino, { type DestinationStream, type Logger as Pino } from 'pino';
import pretty from 'pino-pretty';
import { redactSecrets, redactText } from './redact';
import { prettyMessage } from './log-pretty';

export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'auto' | 'json' | 'pretty';

/** An error as plain JSON: type, message, stack, and its causes (bounded). */
export function serializeError(err: Error, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = { type: err.name, message: err.message, stack: err.stack };
  if (err.cause !== undefined && depth < 5) {
    out.cause = err.cause instanceof Error ? serializeError(err.cause, depth + 1) : err.cause;
  }
  return out;
}

function destination(write: ((line: string) => void) | undefined, format: LogFormat): DestinationStream {
  if (write) return { write: (s: string) => write(s.endsWith('\n') ? s.slice(0, -1) : s) };
  const usePretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  if (usePretty) {
    // One line a record, message first (src/log-pretty.ts). Colours in a terminal, or when a
    // launcher whose output is a terminal asks for them (FORCE_COLOR).
    const force = process.env.FORCE_COLOR;
    const color =
      !process.env.NO_COLOR && (process.stdout.isTTY === true || (force !== undefined && force !== '0'));
    return pretty({
      sync: true,
      colorize: color,
      messageKey: 'message',
      translateTime: 'SYS:HH:MM:ss.l',
      hideObject: true,
      messageFormat: (log, messageKey) => prettyMessage(log, messageKey),
    });
  }
  return pino.destination({ dest: 1, sync: true });
}

export class JsonLogger implements TemporalLogger {
  private readonly pino: Pino;

  /**
   * @param write Receives each line as JSON without its newline (tests); default: stdout, in
   * the format `format` says.
   */
  constructor(
    private readonly component: string,
    private readonly minLevel: Level = 'info',
    private readonly write?: (line: string) => void,
    private readonly format: LogFormat = 'auto',
  ) {
    this.pino = pino(
      {
        level: minLevel,
        messageKey: 'message',
        base: { component },
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
      },
      destination(write, format),
    );
  }

  log(level: TemporalLogLevel | Level, message: string, meta?: LogMetadata): void {
    const lvl = level.toLowerCase() as Level;
    if (!this.pino.isLevelEnabled(lvl)) return;
    // The SDK's "Activity started" comes before the job context is known; the activity
    // interceptor (activities/log.ts) writes it again with the context.
    if (message === 'Activity started' && meta?.sdkComponent === 'worker' && !('jobId' in meta)) return;
    const fields: Record<string, unknown> = {};
    if (meta) {
      for (const [k, v] of Object.entries(meta)) {
        // Temporal passes timestamps in nanoseconds as bigint.
        fields[k] = typeof v === 'bigint' ? v.toString() : v instanceof Error ? serializeError(v) : v;
      }
    }
    if ('jobId' in fields) {
      // Job lines carry all four job fields; Temporal's logger drops null metadata on the way here.
      fields.parentJobId ??= null;
      fields.step ??= null;
    }
    this.pino[lvl](redactSecrets(fields), redactText(message));
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
    return new JsonLogger(`${this.component}.${component}`, this.minLevel, this.write, this.format);
  }
}

/**
 * Nest's logger calls, onto the project logger: `log(message, context)`, `error(message, stack,
 * context)`; a message that is an object (the request log) becomes the line's fields.
 */
/** Nest's start-up chatter (a line per module and per route): debug, not info. */
const NEST_STARTUP_CONTEXTS = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestApplication',
]);

export function nestLogger(log: JsonLogger): LoggerService {
  const line =
    (level: Level) =>
    (m: unknown, ...rest: unknown[]): void => {
      const context = rest.length > 0 ? rest[rest.length - 1] : undefined;
      if (level === 'info' && typeof context === 'string' && NEST_STARTUP_CONTEXTS.has(context)) {
        return log.log('debug', String(m), { context });
      }
      const stack = level === 'error' && rest.length > 1 ? rest[0] : undefined;
      if (m instanceof Error) return log.log(level, m.message, { context, error: m });
      if (m && typeof m === 'object') {
        const { message, ...fields } = m as Record<string, unknown>;
        return log.log(level, String(message ?? ''), { ...fields, context });
      }
      log.log(level, String(m), stack ? { context, stack } : { context });
    };
  return {
    log: line('info'),
    error: line('error'),
    warn: line('warn'),
    debug: line('debug'),
    verbose: line('trace'),
  };
}
