import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { Config } from '../../config';

/** Injection token of the parsed {@link Config} (parsed once, before Nest starts). */
export const APP_CONFIG = Symbol('APP_CONFIG');

/** Makes the configuration injectable everywhere; it is parsed by the entry point, not here. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: Config): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: APP_CONFIG, useValue: config }],
      exports: [APP_CONFIG],
    };
  }
}
