/**
 * The registry of the API's named shapes. A zod schema registered here under an id is the one
 * declaration of that shape: its TypeScript type is inferred from it, `/openapi.json` publishes it
 * as the component of that id (`z.toJSONSchema` of this registry: a registered schema used inside
 * another becomes a `$ref`), and the dashboard's types are generated from those components
 * (`scripts/generate-api-types.mjs`). Workflow-safe: it imports only `zod`.
 */
import { z } from 'zod';

/** What a schema is registered with. */
export interface ApiSchemaMeta {
  /** The component's name in `/openapi.json`. */
  id: string;
  /**
   * Which side of the schema the component shows: `output` (the default) for what the API answers,
   * `input` for what it accepts (a field with a default is optional there).
   */
  io?: 'input' | 'output';
}

/** Every named shape of the API (see the module comment). */
export const apiSchemas = z.registry<ApiSchemaMeta>();

const byId = new Map<string, z.ZodType>();

/**
 * Registers `schema` as the component `id` and returns it: `export const x = named('X', z.object(…))`.
 * Throws when another schema already has the id (two components cannot share a name).
 */
export function named<T extends z.ZodType>(id: string, schema: T, io?: 'input'): T {
  const taken = byId.get(id);
  if (taken !== undefined && taken !== schema) throw new Error(`Two API schemas are named "${id}"`);
  byId.set(id, schema);
  apiSchemas.add(schema, io ? { id, io } : { id });
  return schema;
}

/** Every registered schema by its id, in the order they were registered. */
export const namedSchemas = (): ReadonlyMap<string, z.ZodType> => byId;
