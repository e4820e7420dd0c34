/**
 * The build that ran a job, through the API: with a versioned worker (Worker Deployment
 * Versioning), `GET /api/jobs/:id` answers the job's `deployment` — its deployment, build id and
 * versioning behaviour — and the answer matches the `JobState` schema `/openapi.json` declares,
 * whose `JobDeployment` component documents the field.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { OpenApiDocument } from '../../src/api/openapi/openapi-document';
import type { JobState } from '../../workflows/contracts';
import { closedJobState, uniqueId } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';

const versioning = {
  deploymentName: uniqueId('stepwise-api-vt'),
  buildId: `0.1.0+${uniqueId('t').slice(2)}`,
};
let harness: TestApi;
let app: NestFastifyApplication;

beforeAll(async () => {
  harness = await startTestApi({}, { versioning });
  ({ app } = harness);
});

afterAll(async () => {
  await harness?.close();
});

describe('JobState.deployment in the API', () => {
  it('names the deployment and build that ran the job, as /openapi.json declares it', async () => {
    const { jobId } = await harness.jobs.start('example', { durationMs: 20 });
    await closedJobState(harness.jobs, jobId);
    const res = await app.inject({ method: 'GET', url: `/api/jobs/${encodeURIComponent(jobId)}` });
    expect(res.statusCode).toBe(200);
    const state = res.json<JobState>();
    expect(state.status).toBe('completed');
    expect(state.deployment).toEqual({
      name: versioning.deploymentName,
      buildId: versioning.buildId,
      behavior: 'pinned',
    });
    // Its sub-job ran on the same build (a pinned parent's children inherit its version).
    const child = await app.inject({
      method: 'GET',
      url: `/api/jobs/${encodeURIComponent(`${jobId}/subJob`)}`,
    });
    expect(child.json<JobState>().deployment).toEqual(state.deployment);

    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<OpenApiDocument>();
    expect(doc.components.schemas.JobDeployment).toMatchObject({
      type: 'object',
      properties: { behavior: { enum: ['pinned', 'auto_upgrade'] } },
    });
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema({ $id: 'openapi.json', components: doc.components }, 'openapi.json');
    const validate = ajv.compile({ $ref: 'openapi.json#/components/schemas/JobState' });
    if (!validate(state)) throw new Error(`not a JobState: ${ajv.errorsText(validate.errors)}`);
  });
});
