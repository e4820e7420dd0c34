import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { StepwiseApp } from '../../../workflows/engine/app';

/**
 * Injection token of the app the API serves (`StepwiseModule.forRoot({ app })`): its job types are
 * the ones the API starts, lists and describes. The API imports no job type of its own.
 */
export const STEPWISE_APP = Symbol('STEPWISE_APP');

/** Makes the app injectable everywhere. */
@Global()
@Module({})
export class CatalogModule {
  static forRoot(app: StepwiseApp): DynamicModule {
    return {
      module: CatalogModule,
      providers: [{ provide: STEPWISE_APP, useValue: app }],
      exports: [STEPWISE_APP],
    };
  }
}
