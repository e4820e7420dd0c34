/**
 * The OpenAPI 3.1 document, generated from the running application: every controller route Nest
 * registered (path, method, status code), its route policy (public, role, audited) and its
 * `@ApiOperation` (zod schemas of params, query, body and responses). Zod 4 writes JSON Schema
 * draft 2020-12, which is OpenAPI 3.1's schema dialect, so no converter is involved.
 */
import { HTTP_CODE_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { RequestMethod } from '@nestjs/common';
import type { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { z } from 'zod';
import type { StepwiseApp } from '../../../workflows/engine/app';
import type { JobDefinition } from '../../../workflows/engine/definition';
import type { Role } from '../../api-keys';
import { AUDIT_ACTION, PUBLIC_ROUTE, ROUTE_ROLE, type AuditAction } from '../common/route-policy';
import { errorBodySchema } from '../contracts';
import { newJobIdSchema, startJobBodySchema } from '../jobs/schemas';
import { API_OPERATION, type ApiOperationSpec } from './api-operation';
import {
  apiComponents,
  clean,
  componentId,
  componentUri,
  CONVERSION,
  refTo,
  type JsonObject,
} from './components';

/** One route as Nest registered it on Fastify. */
export interface RouteInfo {
  method: string;
  /** Fastify's form: `/api/jobs/:jobId`. */
  path: string;
  /** The status Nest answers with unless the handler sets another. */
  httpCode: number;
  public: boolean;
  role: Role;
  audited?: AuditAction;
  operationId: string;
  spec?: ApiOperationSpec;
}

const joinPath = (...parts: string[]): string =>
  '/' +
  parts
    .flatMap((p) => p.split('/'))
    .filter((p) => p !== '')
    .join('/');

/** Every controller route of the application, with its metadata. */
export function collectRoutes(
  discovery: DiscoveryService,
  scanner: MetadataScanner,
  reflector: Reflector,
): RouteInfo[] {
  const routes: RouteInfo[] = [];
  for (const wrapper of discovery.getControllers()) {
    const type = wrapper.metatype as (new (...args: never[]) => unknown) | undefined;
    const instance = wrapper.instance as object | undefined;
    if (!type || !instance) continue;
    const prefix = Reflect.getMetadata(PATH_METADATA, type) as string | string[] | undefined;
    const proto = Object.getPrototypeOf(instance) as Record<string, unknown>;
    for (const name of scanner.getAllMethodNames(proto)) {
      const handler = proto[name] as (...args: unknown[]) => unknown;
      const sub = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (sub === undefined || method === undefined) continue;
      const targets = [handler, type];
      const verb = RequestMethod[method];
      const code = Reflect.getMetadata(HTTP_CODE_METADATA, handler) as number | undefined;
      const name0 = `${type.name.replace(/Controller$/, '')}_${name}`.replace(/^./, (c) => c.toLowerCase());
      let nth = 0;
      for (const base of [prefix ?? ''].flat()) {
        for (const p of [sub].flat()) {
          const path = joinPath(base, p);
          routes.push({
            method: verb,
            path,
            httpCode: code ?? (verb === 'POST' ? 201 : 200),
            public: reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets) ?? false,
            role: reflector.getAllAndOverride<Role>(ROUTE_ROLE, targets) ?? 'viewer',
            audited: reflector.get<AuditAction | undefined>(AUDIT_ACTION, handler),
            // One handler on several paths (`/health`, `/health/ready`): the first path keeps the
            // handler's id, the others add their path, so every operation has its own id.
            operationId: nth++ === 0 ? name0 : `${name0}_${camelPath(path)}`,
            spec: reflector.get<ApiOperationSpec | undefined>(API_OPERATION, handler),
          });
        }
      }
    }
  }
  return routes;
}

/** `/health/ready` → `healthReady`: a path as an identifier. */
const camelPath = (path: string): string =>
  path
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w, i) => (i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1)))
    .join('');

/** `/api/jobs/:jobId` → `/api/jobs/{jobId}`. */
export const openApiPath = (fastifyPath: string): string => fastifyPath.replace(/:(\w+)/g, '{$1}');

const pascal = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid request: see `issues` for where',
  401: 'No valid API key (`WWW-Authenticate: Bearer`)',
  403: "The key's role is too low for this route",
  404: 'Not found',
  409: 'Conflicts with the job’s state',
  413: 'Body over the body limit',
  415: 'Body is not `application/json`',
  429: 'Past the per-key rate limit of mutating routes (`Retry-After`)',
  503: 'Temporal unavailable, or no worker answered in time',
};

export interface OpenApiDocument {
  openapi: string;
  info: JsonObject;
  paths: Record<string, Record<string, JsonObject>>;
  components: { schemas: Record<string, unknown>; securitySchemes: JsonObject };
  [key: string]: unknown;
}

/**
 * What a start of `def` looks like: the first of its input schema's `examples` (zod
 * `.meta({ examples })`), else its defaults spelled out, else none (a type whose input has
 * required fields and no example: a test makes sure there is none).
 */
export function exampleInput(def: JobDefinition): unknown {
  const declared = (z.toJSONSchema(def.input, { io: 'input', unrepresentable: 'any' }) as JsonObject)
    .examples;
  if (Array.isArray(declared) && declared.length > 0) return declared[0];
  const defaults = def.input.safeParse({});
  // Spelled out, so a reader sees each field to change.
  return defaults.success ? defaults.data : undefined;
}

export function buildDocument(routes: RouteInfo[], version: string, app: StepwiseApp): OpenApiDocument {
  const named = apiComponents();
  const ref = (id: string): JsonObject => ({ $ref: componentUri(id) });

  // Each startable job type's input, and the start body as a oneOf discriminated by `type`.
  const typeSchemas: Record<string, unknown> = {};
  const startExamples: Record<string, JsonObject> = {};
  const variants: JsonObject[] = [];
  const inlineVariants: JsonObject[] = [];
  const mapping: Record<string, string> = {};
  for (const def of app.jobs) {
    const inputName = `${pascal(def.name)}Input`;
    const inputSchema = {
      description: `Input of \`${def.name}\`${def.internal ? ' (internal: started only by its parent job)' : ''}: ${def.description}`,
      ...(clean(z.toJSONSchema(def.input, { ...CONVERSION, io: 'input' })) as JsonObject),
    };
    const bodyName = `Start${pascal(def.name)}Body`;
    // Their names come from the type's: one that is an API shape's already would replace it.
    for (const name of [inputName, bodyName]) {
      if (name in named) throw new Error(`Job type ${def.name}: ${name} is already a component of the API`);
    }
    typeSchemas[inputName] = inputSchema;
    if (def.internal) continue;
    const priorityJson = clean(
      z.toJSONSchema(startJobBodySchema.shape.priority.unwrap(), CONVERSION),
    ) as JsonObject;
    const body = (input: unknown): JsonObject => ({
      type: 'object',
      title: bodyName,
      properties: { type: { const: def.name }, input, jobId: refTo(newJobIdSchema), priority: priorityJson },
      required: ['type'],
      additionalProperties: false,
    });
    typeSchemas[bodyName] = body(ref(inputName));
    inlineVariants.push(body(inputSchema));
    variants.push(ref(bodyName));
    mapping[def.name] = componentUri(bodyName);
    const input = exampleInput(def);
    if (input !== undefined) {
      startExamples[def.name] = { summary: `Start ${def.name}`, value: { type: def.name, input } };
    }
  }
  // The start body the route's pipe reads is open (`type`, any `input`); the document says which
  // types there are and what each takes: one variant per type, discriminated by `type`.
  const startBody = {
    description: 'Starts a job of `type` with its `input` (default `{}`), under `jobId` if given.',
    oneOf: variants,
    discriminator: { propertyName: 'type', mapping },
  };
  named[componentId(startJobBodySchema)!] = startBody;

  // A named shape by reference to its component; any other schema as it is.
  const schemaOf = (schema: z.ZodType, io: 'input' | 'output'): unknown =>
    componentId(schema) !== undefined ? refTo(schema) : clean(z.toJSONSchema(schema, { ...CONVERSION, io }));

  const paths: OpenApiDocument['paths'] = {};
  for (const route of [...routes].sort((a, b) => a.path.localeCompare(b.path))) {
    const spec = route.spec;
    if (spec?.notInDocument) continue;
    const path = openApiPath(route.path);
    const parameters: JsonObject[] = [];
    const pathParams = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]);
    const paramShapes = spec?.params ? (schemaOf(spec.params, 'input') as JsonObject) : undefined;
    for (const name of pathParams) {
      const props = (paramShapes?.properties ?? {}) as Record<string, unknown>;
      parameters.push({ name, in: 'path', required: true, schema: props[name] ?? { type: 'string' } });
    }
    if (spec?.query) {
      const q = schemaOf(spec.query, 'input') as JsonObject;
      const required = new Set((q.required as string[] | undefined) ?? []);
      for (const [name, schema] of Object.entries((q.properties ?? {}) as Record<string, JsonObject>)) {
        const hasDefault = 'default' in schema;
        parameters.push({ name, in: 'query', required: required.has(name) && !hasDefault, schema });
      }
    }

    if (spec?.headers) {
      const hs = schemaOf(spec.headers, 'input') as JsonObject;
      const required = new Set((hs.required as string[] | undefined) ?? []);
      for (const [name, schema] of Object.entries((hs.properties ?? {}) as Record<string, JsonObject>)) {
        // Written as the HTTP convention spells it (Idempotency-Key); matched case-insensitively.
        const spelled = name.replace(
          /(^|-)([a-z])/g,
          (_m, dash: string, c: string) => dash + c.toUpperCase(),
        );
        const { description, ...rest } = schema;
        parameters.push({
          name: spelled,
          in: 'header',
          required: required.has(name),
          ...(description ? { description } : {}),
          schema: rest,
        });
      }
    }

    const responses: Record<string, unknown> = {};
    const successes = spec?.responses ?? { [route.httpCode]: { description: 'Success' } };
    for (const [status, r] of Object.entries(successes)) {
      responses[status] = {
        description: r.description,
        ...(r.schema
          ? { content: { [r.contentType ?? 'application/json']: { schema: schemaOf(r.schema, 'output') } } }
          : {}),
      };
    }
    const errors: Record<number, string> = {};
    if (pathParams.length || spec?.query || spec?.body) errors[400] = ERROR_TEXT[400];
    if (!route.public) errors[401] = ERROR_TEXT[401];
    if (!route.public && route.role !== 'viewer')
      errors[403] = `${ERROR_TEXT[403]} (needs \`${route.role}\`)`;
    if (spec?.body) {
      errors[413] = ERROR_TEXT[413];
      errors[415] = ERROR_TEXT[415];
    }
    if (route.audited) errors[429] = ERROR_TEXT[429];
    Object.assign(errors, spec?.errors ?? {});
    for (const [status, text] of Object.entries(errors)) {
      responses[status] ??= {
        description: text,
        content: { 'application/json': { schema: refTo(errorBodySchema) } },
      };
    }

    const roleText = route.public
      ? 'Public: no key needed.'
      : `Needs a key with role \`${route.role}\` or higher.${route.audited ? ` Audited as \`${route.audited}\`, rate-limited per key.` : ''}`;
    const operation: JsonObject = {
      operationId: route.operationId,
      summary: spec?.summary ?? `${route.method} ${route.path}`,
      description: [spec?.description, roleText].filter(Boolean).join('\n\n'),
      tags: spec?.tags ?? [],
      ...(route.public ? { security: [] } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(spec?.body
        ? {
            requestBody: {
              required: spec.bodyRequired ?? false,
              content: {
                'application/json': {
                  // The start body inline, not by reference: client generators read a field with a
                  // default as optional only inside a request body (openapi-typescript makes it
                  // required in a shared component), and every input field with a default is optional.
                  schema:
                    spec.body === startJobBodySchema
                      ? {
                          // The variants differ by their `type` const; a discriminator's mapping
                          // would name the components, which this inline copy is not.
                          description: startBody.description,
                          oneOf: inlineVariants,
                        }
                      : schemaOf(spec.body, 'input'),
                  // One working start per job type (Swagger UI prefills the first).
                  ...(spec.body === startJobBodySchema ? { examples: startExamples } : {}),
                },
              },
            },
          }
        : {}),
      responses,
      ...(route.role !== 'viewer' ? { 'x-stepwise-role': route.role } : {}),
      ...(route.audited ? { 'x-stepwise-audit-action': route.audited } : {}),
    };
    (paths[path] ??= {})[route.method.toLowerCase()] = operation;
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Stepwise API',
      version,
      description:
        'Durable multi-step jobs on Temporal. Errors are `ErrorBody`; every answer carries `x-request-id`.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas: { ...named, ...typeSchemas },
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API key: `Authorization: Bearer <key>` (see docs/security.md).',
        },
      },
    },
  };
}
