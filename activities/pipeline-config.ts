/**
 * The example app's own settings: what the data pipeline activities (dataImport, datasetBuild)
 * need. Read from the environment by {@link loadPipelineConfig} (the framework's configuration
 * knows nothing of them); tests build it over temporary folders.
 */
import { resolve } from 'node:path';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** The pipelines' environment variables; folders default to places under STEPWISE_DATA_DIR. */
export const pipelineEnvSchema = z.object({
  STEPWISE_DATA_DIR: z.string().min(1).default('.data'),
  STEPWISE_IMPORT_ROOT: z.string().min(1).optional(),
  STEPWISE_IMPORT_MAX_FILE_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(50 * 1024 * 1024),
  STEPWISE_INDEX_DB_PATH: z.string().min(1).optional(),
  STEPWISE_WORK_DIR: z.string().min(1).optional(),
  STEPWISE_DATASET_ROOT: z.string().min(1).optional(),
  STEPWISE_DOWNLOAD_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(20 * 1024 * 1024),
  STEPWISE_DOWNLOAD_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  STEPWISE_DOWNLOAD_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  STEPWISE_DOWNLOAD_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  STEPWISE_DOWNLOAD_CONTENT_TYPES: z
    .string()
    .min(1)
    .default('image/*,application/octet-stream')
    .transform((v) =>
      v
        .split(',')
        .map((t) => t.trim().toLowerCase())
        .filter(Boolean),
    ),
  // Where downloads may go (activities/dataset/address.ts): hosts, private networks, redirects.
  STEPWISE_DOWNLOAD_ALLOW_HOSTS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    ),
  STEPWISE_DOWNLOAD_ALLOW_PRIVATE: bool.default(false),
  STEPWISE_DOWNLOAD_MAX_REDIRECTS: z.coerce.number().int().min(0).max(20).default(5),
  STEPWISE_IMAGE_MAX_PIXELS: z.coerce.number().int().min(1).default(100_000_000),
});

/** Thrown by {@link loadPipelineConfig} with every bad variable named. */
export class PipelineConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid pipeline configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'PipelineConfigError';
  }
}

/** The pipelines' settings from the environment; throws {@link PipelineConfigError} naming each bad variable. */
export function loadPipelineConfig(source: NodeJS.ProcessEnv = process.env): PipelineConfig {
  const parsed = pipelineEnvSchema.safeParse(source);
  if (!parsed.success) {
    throw new PipelineConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const env = parsed.data;
  const dataDir = resolve(env.STEPWISE_DATA_DIR);
  return {
    importRoot: resolve(env.STEPWISE_IMPORT_ROOT ?? resolve(dataDir, 'imports')),
    importMaxFileBytes: env.STEPWISE_IMPORT_MAX_FILE_BYTES,
    indexDbPath: resolve(env.STEPWISE_INDEX_DB_PATH ?? resolve(dataDir, 'index.sqlite')),
    workDir: resolve(env.STEPWISE_WORK_DIR ?? resolve(dataDir, 'work')),
    datasetRoot: resolve(env.STEPWISE_DATASET_ROOT ?? resolve(dataDir, 'datasets')),
    download: {
      maxBytes: env.STEPWISE_DOWNLOAD_MAX_BYTES,
      concurrency: env.STEPWISE_DOWNLOAD_CONCURRENCY,
      attempts: env.STEPWISE_DOWNLOAD_ATTEMPTS,
      timeoutMs: env.STEPWISE_DOWNLOAD_TIMEOUT_MS,
      contentTypes: env.STEPWISE_DOWNLOAD_CONTENT_TYPES,
      allowHosts: env.STEPWISE_DOWNLOAD_ALLOW_HOSTS,
      allowPrivate: env.STEPWISE_DOWNLOAD_ALLOW_PRIVATE,
      maxRedirects: env.STEPWISE_DOWNLOAD_MAX_REDIRECTS,
    },
    imageMaxPixels: env.STEPWISE_IMAGE_MAX_PIXELS,
  };
}

export interface PipelineConfig {
  /** Local input files (dataImport's `sourceDir`, datasetBuild's local sources) must resolve inside it. */
  importRoot: string;
  /** dataImport rejects files larger than this. */
  importMaxFileBytes: number;
  /** The SQLite file with the searchable import index. */
  indexDbPath: string;
  /** Scratch space: one folder per job, removed by the job's cleanup. */
  workDir: string;
  /** datasetBuild's `outputDir` must resolve inside it. */
  datasetRoot: string;
  download: {
    /** Largest accepted download; the transfer is aborted past it. */
    maxBytes: number;
    /** Downloads in flight at once, per datasetBuild job. */
    concurrency: number;
    /** Attempts per item (network errors, 5xx, 408 and 429 are retried). */
    attempts: number;
    /** Deadline of one item: all its attempts, redirects and waits. */
    timeoutMs: number;
    /** Accepted content types, lower case; `image/*` matches every image type. */
    contentTypes: string[];
    /** Hosts downloads may reach (`example.com`, `*.example.com`); empty or absent: any public host. */
    allowHosts?: string[];
    /**
     * Allow loopback, private (10/8, 172.16/12, 192.168/16), CGNAT (100.64/10) and IPv6
     * unique-local addresses. Absent: false. Link-local, multicast, unspecified and reserved
     * addresses are refused even then.
     */
    allowPrivate?: boolean;
    /** Redirects followed per attempt, each checked like the first URL. Absent: 5. */
    maxRedirects?: number;
  };
  /** Images with more pixels than this (width × height) are rejected. */
  imageMaxPixels: number;
}
