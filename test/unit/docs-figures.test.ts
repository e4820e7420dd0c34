/** Figures the docs state about inputs are the code's own, so the docs cannot drift from it again. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { MAX_SIMULATED_CLEANUP_MS, MAX_SIMULATED_MS } from '../../workflows/jobs/demo-contracts';

const pipelines = readFileSync(resolve(__dirname, '../../docs/pipelines.md'), 'utf8');
const spaced = (n: number): string => n.toLocaleString('en-US').replace(/,/g, ' ');

test('every simulated duration range in docs/pipelines.md is the schema’s', () => {
  const ranges = [...pipelines.matchAll(/`durationMs` \(0–([\d ]+),/g)].map((m) => m[1]);
  expect(ranges.length).toBeGreaterThanOrEqual(4);
  expect(new Set(ranges)).toEqual(new Set([spaced(MAX_SIMULATED_MS)]));
  const cleanup = [...pipelines.matchAll(/`cleanupMs` \(0–([\d ]+),/g)].map((m) => m[1]);
  expect(cleanup).toEqual([spaced(MAX_SIMULATED_CLEANUP_MS)]);
});
