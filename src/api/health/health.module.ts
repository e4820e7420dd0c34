import { Module } from '@nestjs/common';
import { HealthController } from './health.controller';

/** `GET /health`: whether Temporal answers for the configured namespace. */
@Module({ controllers: [HealthController] })
export class HealthModule {}
