/** Creates the NestJS application on Fastify; used by main.ts and the API tests. */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Client } from '@temporalio/client';
import type { LoggerService } from '@nestjs/common';
import { AppModule } from './api/app.module';
import type { Config } from './config';

export async function createApp(
  config: Config,
  client: Client,
  logger: LoggerService | false = false,
): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.create(config, client),
    new FastifyAdapter(),
    {
      logger,
    },
  );
  app.enableShutdownHooks();
  await app.init();
  return app;
}
