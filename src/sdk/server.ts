/**
 * `stepwise/server`: the HTTP API (NestJS on Fastify) for an app — job routes, live streams, the
 * dashboard, OpenAPI, metrics — configured from the environment like `stepwise api`.
 *
 * @example
 * import { createApiServer, loadConfig } from 'stepwise/server';
 * import app from './app';
 * const server = await createApiServer(loadConfig(), { app });
 * await server.listen(3000, '127.0.0.1');
 *
 * @packageDocumentation
 */
export { createApp as createApiServer, maxBodyBytes, type CreateAppOptions } from '../app';
export { AppModule as StepwiseModule } from '../api/app.module';
export { STEPWISE_APP } from '../api/catalog/catalog.module';
export { checkApiExposure, ConfigError, loadConfig, type Config, type TracingConfig } from '../config';
export { startTracing, Tracing, type StartTracingOptions } from '../tracing';
