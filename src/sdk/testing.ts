/**
 * `stepwise/testing`: a real Temporal dev server, a worker of your app and optionally the API, for
 * your tests (jest, vitest, node:test).
 *
 * @example
 * const env = await createStepwiseTestEnv({ app, activities: fakeActivities, api: true });
 * // ... start a job (StepwiseClient or POST /api/jobs), assert on its state ...
 * await env.close();
 *
 * @packageDocumentation
 */
export { createStepwiseTestEnv, type StepwiseTestEnv, type StepwiseTestEnvOptions } from '../testing';
