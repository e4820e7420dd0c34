/** The API process: NestJS on Fastify in front of the Temporal client. */
import type { LoggerService } from '@nestjs/common';
import { loadConfigOrExit } from './config';
import { JsonLogger } from './logger';
import { connectClient } from './temporal';
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
  const client = await connectClient(config.temporal);
  const app = await createApp(config, client, nestLogger);
  await app.listen(config.env.PORT, config.env.HOST);
  log.info(`API listening on http://${config.env.HOST}:${config.env.PORT}`, {
    temporal: config.temporal.address,
    namespace: config.temporal.namespace,
  });
  const shutdown = async (): Promise<void> => {
    await app.close();
    await client.connection.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
