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
