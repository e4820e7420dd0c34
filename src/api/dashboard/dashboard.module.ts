import { Module } from '@nestjs/common';
import { DashboardController } from './dashboard.controller';

/** The dashboard at `/`: its page shell and compiled browser files (see src/dashboard/). */
@Module({ controllers: [DashboardController] })
export class DashboardModule {}
