/**
 * Determinism guard: every committed history in test/fixtures/histories replays against the
 * current workflow code. A change to a released workflow's command sequence fails here unless
 * it is behind `patched()`.
 *
 * A fixture is named after its workflow id ("/" written as "__"), since child ids derive from it.
 * `npm run fixtures:capture` captures the missing ones from real runs (scripts/capture-histories.ts);
 * one closed job can be captured with the installed CLI:
 *   temporal workflow show -w <jobId> --output json > test/fixtures/histories/<jobId with / as __>.json
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';

const DIR = join(__dirname, '../fixtures/histories');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

describe('replay of committed histories', () => {
  it('has fixtures to replay', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s replays without nondeterminism', async (file) => {
    // The history JSON as the CLI writes it; the replayer converts it.
    const history: unknown = JSON.parse(readFileSync(join(DIR, file), 'utf8'));
    const workflowId = file.replace(/\.json$/, '').replaceAll('__', '/');
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: process.env.STEPWISE_TEST_BUNDLE! } },
      history,
      workflowId,
    );
  });
});
