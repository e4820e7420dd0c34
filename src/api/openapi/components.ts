/**
 * The components of `/openapi.json` that the API's named shapes give: every schema registered with
 * an id (`workflows/schema-registry.ts`) — the answers of `../contracts.ts` and
 * `workflows/job-state.ts`, the request bodies of `../jobs/schemas.ts` — converted by zod, a
 * registered schema inside another becoming a `$ref` to its component. The document
 * (`openapi-document.ts`) adds the job types' own components to these; the dashboard's generated
 * types (`scripts/generate-api-types.mjs`) are made from these alone. No Nest here: the generator
 * loads this module by itself.
 */
import { z } from 'zod';
import { apiSchemas, namedSchemas } from '../../../workflows/schema-registry';
// The modules that register the API's shapes: imported for that, so every component is here
// whoever imports this module first.
import '../contracts';
import '../jobs/schemas';
import '../schedules/schemas';

export type JsonObject = Record<string, unknown>;

/** Where a component is: zod's `uri` for references, and the job types' components (named by their type). */
export const componentUri = (id: string): string => `#/components/schemas/${id}`;

/** The id `schema` is registered under, if it is one of the API's named shapes. */
export const componentId = (schema: z.ZodType): string | undefined => apiSchemas.get(schema)?.id;

/** A `$ref` to the component of a registered schema. */
export function refTo(schema: z.ZodType): JsonObject {
  const id = componentId(schema);
  if (id === undefined) throw new Error('refTo: the schema is not registered in apiSchemas (use named())');
  return { $ref: componentUri(id) };
}

/** How every schema is converted: draft 2020-12 (OpenAPI 3.1's dialect); what JSON Schema cannot say is left open. */
export const CONVERSION = { target: 'draft-2020-12', unrepresentable: 'any' } as const;

/** Drops `$schema`/`$id` and points zod's shared definitions at their component. */
export function clean(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(clean);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === '$schema' || k === '$id') continue;
    out[k] =
      k === '$ref' && typeof v === 'string'
        ? v.replace(`${componentUri('__shared')}#/$defs/`, `${componentUri('__shared')}/$defs/`)
        : clean(v);
  }
  return out;
}

/**
 * Every registered schema as its component, by id: each converted on the side it is registered
 * for (what the API answers, or for a request body what it accepts).
 */
export function apiComponents(): Record<string, JsonObject> {
  const sides = {
    output: z.toJSONSchema(apiSchemas, { ...CONVERSION, io: 'output', uri: componentUri }).schemas,
    input: z.toJSONSchema(apiSchemas, { ...CONVERSION, io: 'input', uri: componentUri }).schemas,
  };
  const out: Record<string, JsonObject> = {};
  for (const [id, schema] of namedSchemas()) {
    out[id] = clean(sides[apiSchemas.get(schema)?.io ?? 'output'][id]) as JsonObject;
  }
  // Definitions zod shares between components (a cycle through an unnamed schema): none today;
  // kept, from both sides, if one appears.
  const shared = { ...sides.output.__shared?.$defs, ...sides.input.__shared?.$defs };
  if (Object.keys(shared).length > 0) out.__shared = clean({ $defs: shared }) as JsonObject;
  return out;
}
