/**
 * The API's shapes as the dashboard names them. Every type here comes from
 * `api-types.generated.ts`, which `npm run build` and `npm run typecheck` generate from the API's
 * zod schemas (the components of `/openapi.json`): a field the API changes changes here too, and a
 * page that reads it no longer compiles. Only {@link JsonSchema}, the part of a JSON Schema the
 * new-job form reads, and {@link BULK_JOB_TYPE} are the dashboard's own.
 */
import type { components } from './api-types.generated.js';

export { JOB_STATUSES, NOTIFICATION_EVENTS, TERMINAL_STATUSES as TERMINAL } from './api-types.generated.js';

/**
 * The framework's bulk-action job type (`BULK_JOB_TYPE` of workflows/engine/bulk-contracts.ts):
 * internal for `POST /api/jobs`, yet a top-level job whose `results` step lists the jobs it acted on.
 */
export const BULK_JOB_TYPE = 'stepwiseBulk';

type Schemas = components['schemas'];

export type Me = Schemas['Me'];
export type Role = Me['role'];
export type JobStatus = Schemas['JobStatus'];
export type StepStatus = Schemas['StepStatus'];
export type StepState = Schemas['StepState'];
export type JobState = Schemas['JobState'];
export type JobSummary = Schemas['JobSummary'];
export type JobTreeNode = Schemas['JobTreeNode'];
export type Issue = Schemas['Issue'];
export type Health = Schemas['Health'];
export type ProcessStatus = Schemas['ProcessStatus'];

/** A JSON Schema, as far as the new-job form reads it. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  /** A map's keys (e.g. an enum of step keys) and its values' schema. */
  propertyNames?: JsonSchema;
  additionalProperties?: boolean | JsonSchema;
  required?: string[];
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  title?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
}

/** A job type as the form reads it: its input schema as a {@link JsonSchema}. */
export type JobType = Omit<Schemas['JobTypeInfo'], 'inputSchema'> & { inputSchema: JsonSchema };
export type RootCause = Schemas['RootCause'];
export type JobRun = Schemas['JobRun'];
export type JobRuns = Schemas['JobRuns'];
export type JobEta = Schemas['JobEta'];
export type Subscription = Schemas['Subscription'];
export type CreatedSubscription = Schemas['CreatedSubscription'];
export type RotatedSecret = Schemas['RotatedSecret'];
export type NotificationEvent = Subscription['events'][number];
export type Delivery = Schemas['Delivery'];
export type DeliveryPage = Schemas['DeliveryPage'];
export type Schedule = Schemas['Schedule'];
export type ScheduleRun = Schemas['ScheduleRun'];
export type ScheduleList = Schemas['ScheduleList'];
export type ScheduleOverlap = Schemas['ScheduleOverlap'];
