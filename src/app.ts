/** Creates the NestJS application on Fastify; used by main.ts and the API tests. */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Client } from '@temporalio/client';
import type { LoggerService } from '@nestjs/common';
import { AppModule } from './api/app.module';
import type { Config } from './config';

export interface CreateAppOptions {
  /**
   * A Temporal client the caller owns and closes (tests). Without one, the application connects
   * from `config.temporal` while it starts and closes that connection when it is closed.
   */
  client?: Client;
  /** Nest's logger; default: none. */
  logger?: LoggerService | false;
}

export async function createApp(
  config: Config,
  { client, logger = false }: CreateAppOptions = {},
): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, client),
    new FastifyAdapter(),
    // A Temporal connection that fails while the app starts rejects here (the caller exits 1),
    // instead of Nest's default process.abort().
    { logger, abortOnError: false },
  );
  await app.init();
  return app;
}
