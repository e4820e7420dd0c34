import { Global, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import type { Tracing } from '../../tracing';
import { RequestSpanInterceptor, RequestSpans, TRACING, TracingCloser } from './request-spans';

/**
 * Traces of API requests (src/api/tracing/request-spans.ts), imported only when tracing is on:
 * with it off, no hook, no interceptor and no span exist.
 */
@Global()
@Module({})
export class TracingModule {
  /**
   * @param tracing The process's tracing.
   * @param own Whether the application shuts it down when it closes (it started it from its
   * configuration), or the caller does (it passed it in).
   */
  static forRoot(tracing: Tracing, own: boolean): DynamicModule {
    const providers: Provider[] = [
      { provide: TRACING, useValue: tracing },
      RequestSpans,
      { provide: APP_INTERCEPTOR, useClass: RequestSpanInterceptor },
      ...(own ? [TracingCloser] : []),
    ];
    return { module: TracingModule, providers, exports: [TRACING] };
  }
}
