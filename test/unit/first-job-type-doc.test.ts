/**
 * docs/your-first-job-type.md shows the files of the project the out-of-tree test builds and runs
 * (test/fixtures/out-of-tree), word for word: the tutorial is the tested code.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const guide = readFileSync(join(ROOT, 'docs', 'your-first-job-type.md'), 'utf8');
const blocks = [...guide.matchAll(/^```(?:ts|json)\n([\s\S]*?)^```$/gm)].map((m) => m[1].trimEnd());

test.each([
  'tsconfig.json',
  'src/contracts.ts',
  'src/jobs.ts',
  'src/app.ts',
  'src/activities.ts',
  'src/mistakes.ts',
  'src/smoke.ts',
])('the tutorial shows %s as the tested project has it', (file) => {
  const code = readFileSync(join(ROOT, 'test', 'fixtures', 'out-of-tree', file), 'utf8').trimEnd();
  expect(blocks.includes(code)).toBe(true);
});
