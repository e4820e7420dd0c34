/**
 * A job type in the catalog but missing from the workflow entry (the wiring mistake of adding a
 * type to `workflows/catalog.ts` and forgetting `workflows/index.ts`) stops the worker and the API
 * at start, each naming the type — instead of jobs that are accepted and never run. Run as a user
 * would: the compiled processes, from a build whose workflow entry lost `example`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, uniqueId } from '../helpers';

const ROOT = resolve(__dirname, '../..');
// Inside the repository, so the copied build finds node_modules as the real one does.
const COPY = join(ROOT, 'test', '.tmp', uniqueId('forgotten'));

beforeAll(() => {
  cpSync(join(ROOT, 'dist'), join(COPY, 'dist'), { recursive: true });
  const entry = join(COPY, 'dist', 'workflows', 'index.js');
  const source = readFileSync(entry, 'utf8');
  const line = /^exports\.example = .*$/m;
  expect(source).toMatch(line);
  writeFileSync(entry, source.replace(line, ''));
});

const children: ChildProcess[] = [];
afterAll(() => {
  // A process that did not refuse to start must not outlive the test.
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(COPY, { recursive: true, force: true });
});

/** Runs a compiled entry to its exit; its code and everything it printed. */
function run(script: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(COPY, 'dist', 'src', script)], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: process.env.STEPWISE_TEST_TEMPORAL_ADDRESS!,
        STEPWISE_AUDIT_DB_PATH: ':memory:',
        LOG_FORMAT: 'json',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('exit', (code) => done({ code, output }));
  });
}

const NAMED =
  'Job type \\"example\\" is in the catalog (workflows/catalog.ts) but not exported by the workflow bundle';

test('the worker refuses to start, naming the type', async () => {
  const { code, output } = await run('worker.js', { TEMPORAL_TASK_QUEUE: uniqueId('never-polled') });
  expect(code).toBe(1);
  expect(output).toContain(NAMED);
});

test('the API refuses to start, naming the type', async () => {
  const { code, output } = await run('main.js', { PORT: String(await freePort()) });
  expect(code).toBe(1);
  expect(output).toContain(NAMED);
});
