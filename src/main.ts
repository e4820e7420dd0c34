/** The API process: NestJS on Fastify in front of the Temporal client (which the app connects itself). */
import type { LoggerService } from '@nestjs/common';
import { checkApiExposure, ConfigError, loadConfigOrExit } from './config';
import { JsonLogger } from './logger';
import { createApp } from './app';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  try {
    checkApiExposure(config); // no keys: loopback only
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
  // The keys were hashed at load; the plain text need not stay in this process's environment.
  delete process.env.STEPWISE_API_KEYS;
  const log = new JsonLogger('api', config.env.LOG_LEVEL);
  if (config.api.keys.length === 0) {
    log.warn(
      `No API keys configured (STEPWISE_API_KEYS): the API is open on ${config.env.HOST} — every request acts as admin "local". See docs/security.md.`,
    );
  }
  const nestLogger: LoggerService = {
    log: (m: unknown, ctx?: unknown) => log.info(String(m), { context: ctx }),
    error: (m: unknown, ctx?: unknown) => log.error(String(m), { context: ctx }),
    warn: (m: unknown, ctx?: unknown) => log.warn(String(m), { context: ctx }),
    debug: (m: unknown, ctx?: unknown) => log.debug(String(m), { context: ctx }),
  };
  const app = await createApp(config, { logger: nestLogger });
  // On SIGINT/SIGTERM: stop the HTTP server, close the Temporal connection (TemporalModule), exit 0.
  app.enableShutdownHooks(['SIGINT', 'SIGTERM'], { useProcessExit: true });
  await app.listen(config.env.PORT, config.env.HOST);
  log.info(`API listening on http://${config.env.HOST}:${config.env.PORT}`, {
    temporal: config.temporal.address,
    namespace: config.temporal.namespace,
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
