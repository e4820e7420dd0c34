/**
 * What the data pipeline activities (dataImport, datasetBuild) need from the configuration.
 * Built from the environment by `src/config.ts`; tests build it over temporary folders.
 */
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
