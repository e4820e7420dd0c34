import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { DiscoveryService, HttpAdapterHost, MetadataScanner, Reflector } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import type { StepwiseApp } from '../../../workflows/engine/app';
import { STEPWISE_APP } from '../catalog/catalog.module';
import { buildDocument, collectRoutes, type OpenApiDocument } from './openapi-document';

/** A route as Fastify registered it (method and URL). */
export interface RegisteredRoute {
  method: string;
  url: string;
}

/** The package's version, from the nearest package.json above this file (source or dist). */
function packageVersion(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return '0.0.0';
}

/**
 * Builds the OpenAPI document from the application's controllers once, on first use, and records
 * every route Fastify registers (so a test can check that none is missing from the document).
 */
@Injectable()
export class OpenApiService {
  private document: OpenApiDocument | undefined;
  /** Every route Fastify registered, as it registered it (HEAD routes included). */
  readonly registered: RegisteredRoute[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    adapterHost: HttpAdapterHost,
    @Inject(STEPWISE_APP) private readonly app: StepwiseApp,
  ) {
    // Providers are created before Nest registers the routes, so this hook sees all of them.
    const fastify = adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    fastify?.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) this.registered.push({ method, url: route.url });
    });
  }

  get(): OpenApiDocument {
    this.document ??= buildDocument(
      collectRoutes(this.discovery, this.scanner, this.reflector),
      packageVersion(),
      this.app,
    );
    return this.document;
  }
}
