/** The API process: NestJS on Fastify in front of the Temporal client (which the app connects itself). */
import type { LoggerService } from '@nestjs/common';
import { loadConfigOrExit } from './config';
import { JsonLogger } from './logger';
import { createApp } from './app';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const log = new JsonLogger('api', config.env.LOG_LEVEL);
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
