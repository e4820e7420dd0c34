/**
 * The job-type catalog and input validation at the API edge: for every type, the JSON Schema
 * the catalog publishes describes the fields its zod schema accepts, and what zod rejects the
 * API rejects with 400 and the same issue paths (prefixed with `input`), starting nothing.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { z } from 'zod';
import { createApp } from '../../src/app';
import exampleApp from '../../workflows/app';
import type { JobTypeInfo } from '../../src/api/job-types/job-type-catalog';
import { loadConfig } from '../../src/config';
import { connectTestEnv, uniqueId, type TestEnv } from '../helpers';

let env: TestEnv;
let app: NestFastifyApplication;

beforeAll(async () => {
  env = await connectTestEnv();
  // No worker: nothing here may start a job.
  app = await createApp(
    loadConfig({
      STEPWISE_AUDIT_DB_PATH: ':memory:',
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_TASK_QUEUE: uniqueId('no-worker'),
      // Hundreds of refused starts in a few seconds: more than any operator's rate limit.
      STEPWISE_RATE_LIMIT_BURST: '100000',
    }),
    { app: exampleApp, client: env.client },
  );
});
afterAll(async () => {
  await app?.close();
  await env?.close();
});

/** A valid input per type; a type added without one fails the test below. */
const SAMPLES: Record<string, Record<string, unknown>> = {
  example: { durationMs: 10, failAttempts: 0 },
  exampleSubJob: { durationMs: 10 },
  sceneProcessing: { newScenes: 2, durationMs: 0, steps: {}, analyze: { chunkSize: 1, window: 1 } },
  sceneTask: { label: 'x', durationMs: 0, items: 1, fail: false, failPermanently: false },
  itemBatch: { count: 10, chunkSize: 2, window: 2 },
  demoPipeline: {
    durationMs: 10,
    parts: 2,
    partsFailing: 0,
    partFailure: 'simulated',
    cleanupMs: 0,
    partCleanupMs: 0,
    cancelWaitMs: 1000,
    steps: { load: { failRuns: 1 } },
  },
  demoHold: { durationMs: 10, failAttempts: 0, holdTimeoutMs: 60_000 },
  demoWait: { durationMs: 10, waitMs: 500, wakeAt: '2026-12-06T09:00:00+01:00' },
  demoQueue: { tenant: 'acme', durationMs: 10 },
  demoApproval: {
    durationMs: 10,
    role: 'admin',
    timeoutMs: 60_000,
    onTimeout: 'continue',
    onReject: 'continue',
  },
  demoTask: { label: 'x', durationMs: 0, items: 1, cleanupMs: 0, failWith: 'simulated' },
  dataImport: { sourceDir: 'incoming/2026-11', validateOnly: true, batchSize: 3 },
  importBatch: { importId: 'dataImport-1', sourceDir: '/data/in', files: ['a.csv'], batch: 0 },
  datasetBuild: {
    sources: ['https://example.test/a.png', 'local/b.jpg'],
    outputDir: 'sets/one',
    labelRule: { by: 'orientation' },
  },
  stepwiseBulk: {
    action: 'retry',
    jobIds: ['example-1', 'example-2'],
    reason: 'x',
    fromStep: 1,
    actor: { name: 'ops', role: 'operator' },
  },
};

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean;
  anyOf?: Schema[];
  oneOf?: Schema[];
}

/** A value of the wrong JSON type for a property described by `s`. */
function wrongValue(s: Schema): unknown {
  switch (s.type) {
    case 'string':
      return 12345;
    case 'integer':
      return 1.5;
    case 'number':
      return 'not a number';
    case 'boolean':
      return 'yes';
    case 'array':
      return 'not an array';
    default:
      return 42; // objects and unions of objects or strings
  }
}

const post = (payload: unknown) =>
  app.inject({ method: 'POST', url: '/api/jobs', payload: payload as object });
const issuePaths = (res: { json(): unknown }) =>
  (res.json() as { issues: { path: (string | number)[] }[] }).issues.map((i) => i.path);

describe('GET /api/job-types', () => {
  it('lists every type with description, steps and the input JSON Schema generated from zod', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/job-types' });
    expect(res.statusCode).toBe(200);
    const list = res.json<JobTypeInfo[]>();
    expect(list.map((t) => t.type)).toEqual(exampleApp.jobs.map((d) => d.name));
    for (const def of exampleApp.jobs) {
      const info = list.find((t) => t.type === def.name)!;
      expect(info.description).toBe(def.description);
      expect(info.inputSchema).toEqual(z.toJSONSchema(def.input, { io: 'input' }));
      expect(info.internal).toBe(def.internal);
    }
    // Sub-job types only their parent starts are marked, so clients do not offer them.
    expect(list.filter((t) => t.internal).map((t) => t.type)).toEqual([
      'exampleSubJob',
      'sceneTask',
      'demoTask',
      'importBatch',
      // The framework's bulk-action type: started only by POST /api/bulk.
      'stepwiseBulk',
    ]);
    const dataset = list.find((t) => t.type === 'datasetBuild')!;
    expect(dataset.steps).toEqual([
      { key: 'download', name: 'Download', kind: 'activity', weight: 4, dependsOn: [] },
      { key: 'validate', name: 'Validate images', kind: 'activity', weight: 1, dependsOn: ['download'] },
      { key: 'dedupe', name: 'Deduplicate', kind: 'activity', weight: 1, dependsOn: ['validate'] },
      { key: 'metadata', name: 'Extract metadata', kind: 'activity', weight: 1, dependsOn: ['validate'] },
      { key: 'label', name: 'Label', kind: 'activity', weight: 0.5, dependsOn: ['dedupe', 'metadata'] },
      { key: 'store', name: 'Store dataset', kind: 'activity', weight: 2, dependsOn: ['label'] },
      { key: 'cleanup', name: 'Clean up', kind: 'activity', weight: 0.5, dependsOn: ['store'] },
    ]);
    expect(list.find((t) => t.type === 'dataImport')!.steps.map((s) => [s.key, s.kind])).toEqual([
      ['validate', 'activity'],
      ['process', 'batch'],
      ['index', 'activity'],
      ['cleanup', 'activity'],
    ]);
  });

  it('is described in /openapi.json, each type input a component', async () => {
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    const doc = res.json<{
      paths: Record<string, unknown>;
      components: { schemas: Record<string, unknown> };
    }>();
    expect(doc.paths['/api/job-types']).toBeDefined();
    expect(doc.components.schemas.DatasetBuildInput).toBeDefined();
  });
});

describe.each(exampleApp.jobs.map((d) => [d.name, d] as const))('input of %s', (type, def) => {
  const schema = z.toJSONSchema(def.input, { io: 'input' }) as Schema;
  const sample = SAMPLES[type];
  /** What the API answers for a refused input: zod's paths; an internal type is refused by its type first. */
  const apiPaths = (zodPaths: unknown[][]) => (def.internal ? [['type']] : zodPaths);

  it('has a valid sample whose fields the JSON Schema describes', () => {
    expect(sample).toBeDefined();
    expect(def.input.safeParse(sample).success).toBe(true);
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties ?? {}).sort()).toEqual(Object.keys(sample).sort());
  });

  it('marks as required exactly the fields zod cannot do without, and refuses unknown fields like zod', async () => {
    const required = Object.keys(sample).filter((k) => {
      const { [k]: _dropped, ...rest } = sample;
      return !def.input.safeParse(rest).success;
    });
    expect([...(schema.required ?? [])].sort()).toEqual(required.sort());
    expect(schema.additionalProperties).toBe(false);
    expect(def.input.safeParse({ ...sample, notAField: 1 }).error?.issues.map((i) => i.code)).toEqual([
      'unrecognized_keys',
    ]);
    const res = await post({ type, input: { ...sample, notAField: 1 } });
    expect(res.statusCode).toBe(400);
    expect(issuePaths(res)).toEqual(apiPaths([['input', 'notAField']]));
  });

  it('answers 400 with zod’s issue paths under "input" for a wrong value in each field, starting nothing', async () => {
    for (const [key, prop] of Object.entries(schema.properties ?? {})) {
      const input = { ...sample, [key]: wrongValue(prop) };
      const parsed = def.input.safeParse(input);
      expect(parsed.success).toBe(false);
      const expected = parsed.error!.issues.map((i) => ['input', ...i.path]);
      expect(expected.every((p) => p[1] === key)).toBe(true);
      const jobId = uniqueId(`bad-${type}`);
      const res = await post({ type, jobId, input });
      expect(res.statusCode).toBe(400);
      expect(issuePaths(res)).toEqual(apiPaths(expected));
      await expect(env.client.workflow.getHandle(jobId).describe()).rejects.toThrow(/not found/i);
    }
  });
});

describe('pipeline input rules at the API', () => {
  it.each([
    ['dataImport', { sourceDir: '../../etc' }, [['input', 'sourceDir']], /without "\.\." segments/],
    ['dataImport', { sourceDir: 'x', batchSize: 0 }, [['input', 'batchSize']], /too small|>=1/],
    [
      'datasetBuild',
      { sources: ['file:///etc/passwd'], outputDir: 'x' },
      [['input', 'sources', 0]],
      /http\(s\) URL/,
    ],
    ['datasetBuild', { sources: [], outputDir: 'x' }, [['input', 'sources']], /too small|>=1/],
    [
      'datasetBuild',
      {
        sources: ['a.png'],
        outputDir: 'x',
        labelRule: { by: 'source', rules: [{ pattern: '(', label: 'a' }] },
      },
      [['input', 'labelRule', 'rules', 0, 'pattern']],
      /not a valid regular expression/,
    ],
  ])('%s %j → 400 at %j', async (type, input, paths, message) => {
    const res = await post({ type, input });
    expect(res.statusCode).toBe(400);
    expect(issuePaths(res)).toEqual(paths);
    expect((res.json() as { issues: { message: string }[] }).issues[0].message).toMatch(message);
  });
});
