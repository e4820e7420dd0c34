/**
 * The Node side of Stepwise's custom search attributes (the typed keys live in
 * `workflows/search-attributes.ts`): registering them on a namespace, and reading them from the
 * raw execution records of a visibility listing.
 */
import type { Connection, RawWorkflowExecutionInfo } from '@temporalio/client';
import {
  defaultPayloadConverter,
  SearchAttributeType,
  TypedSearchAttributes,
  type SearchAttributePair,
} from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { status as grpcStatus } from '@grpc/grpc-js';
import { SEARCH_ATTRIBUTE_KEYS, type JobSearchAttributeKey } from '../workflows/search-attributes';

const { IndexedValueType } = temporal.api.enums.v1;

const INDEXED_VALUE_TYPE: Record<SearchAttributeType, temporal.api.enums.v1.IndexedValueType> = {
  [SearchAttributeType.TEXT]: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  [SearchAttributeType.KEYWORD]: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  [SearchAttributeType.INT]: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  [SearchAttributeType.DOUBLE]: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  [SearchAttributeType.BOOL]: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  [SearchAttributeType.DATETIME]: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  [SearchAttributeType.KEYWORD_LIST]: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/**
 * Makes `namespace` ready for Stepwise — the one code path every launcher uses (the dev server,
 * `npm run cluster`, and docker-compose's one-shot `temporal-setup` service through
 * `scripts/prepare-namespace.ts`): registers the namespace when the server does not have it (a
 * fresh cluster has none; the dev server creates its own), registers the missing search
 * attributes, and waits until the namespace lists them. Throws after `deadline` (epoch ms).
 */
export async function prepareNamespace(
  connection: Connection,
  namespace: string,
  deadline: number,
  retentionDays = 7,
): Promise<{ namespaceCreated: boolean; attributesAdded: string[] }> {
  const namespaceCreated = await ensureNamespace(connection, namespace, retentionDays, deadline);
  const attributesAdded = await ensureSearchAttributes(connection, namespace);
  while (attributesAdded.length > 0) {
    const res = await connection.operatorService.listSearchAttributes({ namespace });
    if (attributesAdded.every((n) => n in (res.customAttributes ?? {}))) break;
    if (Date.now() > deadline) {
      throw new Error(`search attributes ${attributesAdded.join(', ')} not visible before the deadline`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { namespaceCreated, attributesAdded };
}

/** Registers `namespace` unless it exists, and waits until it is usable; true when it was created. */
async function ensureNamespace(
  connection: Connection,
  namespace: string,
  retentionDays: number,
  deadline: number,
): Promise<boolean> {
  const exists = async (): Promise<boolean> => {
    try {
      await connection.workflowService.describeNamespace({ namespace });
      return true;
    } catch (err) {
      if ((err as { code?: number }).code === grpcStatus.NOT_FOUND) return false;
      throw err;
    }
  };
  if (await exists()) return false;
  try {
    await connection.workflowService.registerNamespace(
      // fromObject converts the plain number into the int64 (Long) the message holds.
      temporal.api.workflowservice.v1.RegisterNamespaceRequest.fromObject({
        namespace,
        workflowExecutionRetentionPeriod: { seconds: retentionDays * 24 * 3600 },
      }),
    );
  } catch (err) {
    // Another launcher registered it first.
    if ((err as { code?: number }).code !== grpcStatus.ALREADY_EXISTS) throw err;
  }
  // A new namespace reaches the frontend's cache asynchronously.
  while (!(await exists())) {
    if (Date.now() > deadline) throw new Error(`namespace ${namespace} not usable before the deadline`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return true;
}

/** The names of Stepwise's keys that `namespace` lacks (empty when all are registered). */
export async function missingSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const present = new Set(Object.keys(existing.customAttributes ?? {}));
  return SEARCH_ATTRIBUTE_KEYS.filter((key) => !present.has(key.name)).map((key) => key.name);
}

/** Registers the keys missing on `namespace`; returns the names it added (empty when all were present). */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const present = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = SEARCH_ATTRIBUTE_KEYS.filter((key) => !present.has(key.name));
  if (missing.length === 0) return [];
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((key) => [key.name, INDEXED_VALUE_TYPE[key.type]])),
  });
  return missing.map((key) => key.name);
}

const VALID: Record<SearchAttributeType, (v: unknown) => boolean> = {
  [SearchAttributeType.TEXT]: (v) => typeof v === 'string',
  [SearchAttributeType.KEYWORD]: (v) => typeof v === 'string',
  [SearchAttributeType.INT]: (v) => Number.isInteger(v),
  [SearchAttributeType.DOUBLE]: (v) => typeof v === 'number',
  [SearchAttributeType.BOOL]: (v) => typeof v === 'boolean',
  [SearchAttributeType.DATETIME]: (v) => v instanceof Date && !Number.isNaN(v.getTime()),
  [SearchAttributeType.KEYWORD_LIST]: (v) => Array.isArray(v) && v.every((s) => typeof s === 'string'),
};

/**
 * Stepwise's attributes of a raw execution record (`listWorkflowExecutions`, which the API calls
 * itself because `client.workflow.list` hides the page token). The SDK's own decoder is not part
 * of its public API, so the JSON payloads are read here by key: a value stored by an older SDK as
 * a one-element array is unwrapped, and one that does not fit its key's type is left out.
 */
export function decodeJobSearchAttributes(execution: RawWorkflowExecutionInfo): TypedSearchAttributes {
  const fields = execution.searchAttributes?.indexedFields ?? {};
  const pairs = SEARCH_ATTRIBUTE_KEYS.flatMap((key) => {
    const payload = fields[key.name];
    const pair = payload ? toPair(key, defaultPayloadConverter.fromPayload<unknown>(payload)) : undefined;
    return pair ? [pair] : [];
  });
  return new TypedSearchAttributes(pairs);
}

function toPair(key: JobSearchAttributeKey, raw: unknown): SearchAttributePair | undefined {
  let value = raw;
  if (key.type !== SearchAttributeType.KEYWORD_LIST && Array.isArray(value)) {
    if (value.length !== 1) return undefined;
    value = value[0];
  }
  if (key.type === SearchAttributeType.DATETIME && typeof value === 'string') value = new Date(value);
  // Checked against the key's type just above: the pair is what the union describes.
  return VALID[key.type](value) ? ({ key, value } as SearchAttributePair) : undefined;
}
