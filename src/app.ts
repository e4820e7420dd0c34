/** Creates the NestJS application on Fastify for an app; used by `stepwise api`, the test environment and the API tests. */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Client } from '@temporalio/client';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { LoggerService } from '@nestjs/common';
import { AppModule } from './api/app.module';
import { installHostGuard } from './api/common/browser-guard';
import { ApiError } from './api/common/errors';
import { toErrorBody } from './api/common/filters/api-exception.filter';
import { MAX_JOB_ID_LENGTH } from './api/jobs/schemas';
import type { Config } from './config';
import { startTracing, type Tracing } from './tracing';
import type { StepwiseApp } from '../workflows/engine/app';

export interface CreateAppOptions {
  /** The app whose job types the API starts, lists and describes. */
  app: StepwiseApp;
  /**
   * A Temporal client the caller owns and closes (tests). Without one, the application connects
   * from `config.temporal` while it starts and closes that connection when it is closed.
   */
  client?: Client;
  /** Nest's logger; default: none. */
  logger?: LoggerService | false;
  /**
   * Traces of the API's requests and of the jobs they start. Absent: without `client`, the
   * application starts tracing from `config.tracing` (the `OTEL_*` variables; off unless an endpoint
   * is set) and shuts it down when it closes; with `client`, there is none (give the client
   * `tracing.clientInterceptors()` yourself). A value: the caller's, who shuts it down; null: off.
   */
  tracing?: Tracing | null;
}

export async function createApp(
  config: Config,
  { app: stepwiseApp, client, logger = false, tracing: given }: CreateAppOptions,
): Promise<NestFastifyApplication> {
  const own = given === undefined && !client;
  const tracing = own
    ? startTracing(config.tracing, {
        defaultServiceName: 'stepwise-api',
        warn: logger ? (m) => logger.warn(`tracing: ${m}`) : undefined,
      })
    : (given ?? null);
  try {
    const app = await build();
    // First of all hooks: a request naming a host this API does not serve goes no further.
    installHostGuard(app.getHttpAdapter().getInstance(), config.edge);
    await app.init();
    return app;
  } catch (err) {
    if (own) await tracing?.shutdown();
    throw err;
  }

  function build(): Promise<NestFastifyApplication> {
    return NestFactory.create<NestFastifyApplication>(
      AppModule.forRoot(config, stepwiseApp, client, tracing ? { tracing, own } : null),
      // A body may carry the largest job input plus the request around it; Fastify refuses more with 413.
      new FastifyAdapter({
        bodyLimit: maxBodyBytes(config),
        // Longer than any valid id (the routes' own validation answers 400 with the issue path up to here).
        routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
        // What Fastify's router refuses before Nest sees the request, in the API's error format.
        frameworkErrors: (err: FastifyError, _req: FastifyRequest, reply: FastifyReply) => {
          const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
          void reply
            .status(tooLong ? 414 : 400)
            .send(
              toErrorBody(
                new ApiError(
                  tooLong ? 414 : 400,
                  tooLong
                    ? `A path segment is longer than ${MAX_PARAM_LENGTH} characters`
                    : 'Malformed URL (bad percent-encoding)',
                ),
              ),
            );
        },
      }),
      // A Temporal connection that fails while the app starts rejects here (the caller exits 1),
      // instead of Nest's default process.abort().
      { logger, abortOnError: false },
    );
  }
}

/**
 * Path parameters longer than this are refused by the router (414): room for the longest job id
 * (1000 characters) path-encoded, where a sub-job id's `/` takes three (`%2F`).
 */
const MAX_PARAM_LENGTH = 3 * MAX_JOB_ID_LENGTH;

/** The request body limit: the job input budget (STEPWISE_MAX_INPUT_BYTES) plus 64 KiB for the rest of the request. */
export const maxBodyBytes = (config: Config): number => config.limits.maxInputBytes + 64 * 1024;
