/** The API process (`stepwise api --app <module>`): NestJS on Fastify in front of the Temporal client (which the app connects itself). */
import { checkApiExposure, ConfigError, loadConfigOrExit, temporalSource } from './config';
import { JsonLogger, nestLogger } from './logger';
import { createApp } from './app';
import { loadConfiguredApp } from './app-modules';
import { listenForStackStatus } from './stack-status';
import { tracingTarget } from './tracing';

async function main(): Promise<void> {
  // Under a launcher: the status of its processes, for the readiness answer (src/stack-status.ts).
  listenForStackStatus();
  const config = loadConfigOrExit();
  try {
    checkApiExposure(config); // no keys: loopback only
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
  // The keys were hashed at load; the plain text need not stay in this process's environment (it
  // does stay in /proc/<pid>/environ: the launchers pass keys on a descriptor instead, see
  // src/child-env.ts, and STEPWISE_API_KEYS_FILE does the same for a deployment).
  delete process.env.STEPWISE_API_KEYS;
  const log = new JsonLogger('api', config.env.LOG_LEVEL, undefined, config.env.LOG_FORMAT);
  for (const warning of config.warnings) log.warn(warning);
  if (config.api.keys.length === 0) {
    log.warn(
      `No API keys configured (STEPWISE_API_KEYS): the API is open on ${config.env.HOST} — every request acts as admin "local". See docs/security.md.`,
    );
  }
  const app = await createApp(config, { app: loadConfiguredApp(config), logger: nestLogger(log) });
  // On SIGINT/SIGTERM: stop the HTTP server, close the Temporal connection (TemporalModule), exit 0.
  app.enableShutdownHooks(['SIGINT', 'SIGTERM'], { useProcessExit: true });
  await app.listen(config.env.PORT, config.env.HOST);
  log.info(`API listening on http://${config.env.HOST}:${config.env.PORT}`, {
    temporal: config.temporal.address,
    namespace: config.temporal.namespace,
    ...temporalSource(config),
    traces: tracingTarget(config.tracing),
  });
}

main().catch((err: unknown) => {
  new JsonLogger('api').error('API failed to start', {
    error: err instanceof Error ? err : new Error(String(err)),
  });
  process.exit(1);
});
