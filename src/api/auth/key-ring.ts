import { Inject, Injectable } from '@nestjs/common';
import { bearerToken, findApiKey, OPEN_MODE_ACTOR, type Actor, type ApiKey } from '../../api-keys';
import type { Config } from '../../config';
import { APP_CONFIG } from '../config/config.module';

export type Authentication = { ok: true; actor: Actor } | { ok: false; why: 'missing' | 'invalid' };

/** The configured keys (digests only) and who an `Authorization` header makes the caller. */
@Injectable()
export class KeyRing {
  private readonly keys: readonly ApiKey[];

  constructor(@Inject(APP_CONFIG) config: Config) {
    this.keys = config.api.keys;
  }

  /** No key configured: every request acts as {@link OPEN_MODE_ACTOR} (main.ts allows that on loopback only). */
  get open(): boolean {
    return this.keys.length === 0;
  }

  authenticate(authorization: string | undefined): Authentication {
    if (this.open) return { ok: true, actor: OPEN_MODE_ACTOR };
    if (authorization === undefined) return { ok: false, why: 'missing' };
    const token = bearerToken(authorization);
    const key = token === undefined ? undefined : findApiKey(this.keys, token);
    return key ? { ok: true, actor: { name: key.name, role: key.role } } : { ok: false, why: 'invalid' };
  }
}
