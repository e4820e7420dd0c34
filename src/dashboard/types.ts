/**
 * The parts of the API's answers the dashboard reads. The API's own types live in
 * workflows/contracts.ts and src/api (served as /openapi.json); these are kept to what the pages use,
 * and the browser tests catch a drift.
 */
export type Role = 'viewer' | 'operator' | 'admin';

export interface Me {
  name: string;
  role: Role;
  openMode: boolean;
}

export type JobStatus =
  | 'running'
  | 'pausing'
  | 'paused'
  | 'cancelling'
  | 'completed'
  | 'completed_with_errors'
  | 'failed'
  | 'cancelled';

export const JOB_STATUSES: readonly JobStatus[] = [
  'running',
  'pausing',
  'paused',
  'cancelling',
  'completed',
  'completed_with_errors',
  'failed',
  'cancelled',
];

export type StepStatus =
  'pending' | 'running' | 'retrying' | 'completed' | 'failed' | 'skipped' | 'cancelled' | 'not_run';

export interface StepState {
  index: number;
  key: string;
  name: string;
  kind: 'activity' | 'job' | 'batch';
  weight: number;
  status: StepStatus;
  attempt: number;
  maxAttempts: number;
  progress: number;
  startedAt: string | null;
  completedAt: string | null;
  durationMs: number | null;
  nextAttemptAt: string | null;
  result: unknown;
  error: { message: string; type: string | null } | null;
  subJobIds: string[];
  batch: { total: number; completed: number; failed: number; running: number } | null;
  message: string | null;
  carriedFrom: string | null;
}

export interface JobState {
  jobId: string;
  runId: string;
  type: string;
  status: JobStatus;
  progress: number;
  currentStep: number;
  totalSteps: number;
  stepName: string | null;
  message: string | null;
  activeSubJobs: { id: string; type: string; status: JobStatus; progress: number; step: string }[];
  /** Sub-jobs running now, batch chunk sub-jobs included (the coordinators are not counted). */
  runningSubJobs: number;
  steps: StepState[];
  summary: { itemsProcessed: number; itemsCreated: number; itemsFailed: number; totalErrors: number };
  logs: {
    at: string;
    level: string;
    step: number | null;
    message: string;
    entity?: { tag: string; route?: string };
  }[];
  control: { paused: boolean };
  recovery: { attempt: number; max: number; fromStep: number | null };
  cancellation: {
    requestedAt: string;
    by: string | null;
    reason: string | null;
    leftRunning: string[];
  } | null;
  error: { message: string; type: string | null; nonRetryable: boolean; step: string | null } | null;
  parentJobId: string | null;
  startedAt: string;
  closedAt: string | null;
}

export interface JobSummary {
  jobId: string;
  runId: string;
  type: string;
  status: JobStatus;
  progress: number;
  currentStep: number;
  totalSteps: number;
  stepName: string | null;
  startedAt: string;
  closedAt: string | null;
  parentJobId: string | null;
  recoverable: boolean;
}

/** A JSON Schema, as far as the new-job form reads it. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
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

export interface JobType {
  type: string;
  description: string;
  steps: { key: string; name: string; kind: string; weight: number }[];
  inputSchema: JsonSchema;
  internal: boolean;
}

export interface Issue {
  path: (string | number)[];
  message: string;
}

export const TERMINAL: readonly JobStatus[] = ['completed', 'completed_with_errors', 'failed', 'cancelled'];

export interface JobTreeNode {
  jobId: string;
  type: string;
  status: JobStatus;
  progress: number;
  children: JobTreeNode[];
  /** Set when more children exist than the tree shows. */
  truncated?: boolean;
}
