import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthGuard, rateLimiterProvider } from './auth.guard';
import { KeyRing } from './key-ring';
import { MeController } from './me.controller';

/**
 * API keys and roles for every route: the global {@link AuthGuard} (routes declare `@Public()`,
 * `@Roles()` and `@Audited()`, see `common/route-policy.ts`) and the {@link KeyRing} the audit
 * hook also uses; `GET /api/me` tells a caller who their key makes them.
 */
@Global()
@Module({
  controllers: [MeController],
  providers: [KeyRing, rateLimiterProvider, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [KeyRing],
})
export class AuthModule {}
