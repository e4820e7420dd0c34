/**
 * The dashboard's API types are generated from the API's zod schemas
 * (`scripts/generate-api-types.mjs`): the file the dashboard compiles against is what the schemas
 * give now, and the generated types say what the server's inferred types say — checked by
 * compiling, with `tsc --strict`, a program that holds them against each other.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { JOB_STATUSES, STEP_STATUSES, TERMINAL_STATUSES } from '../../workflows/job-state';

const ROOT = resolve(__dirname, '../..');
const GENERATOR = join(ROOT, 'scripts', 'generate-api-types.mjs');
const DASHBOARD_FILE = join(ROOT, 'src', 'dashboard', 'api-types.generated.ts');
const TSC = require.resolve('typescript/bin/tsc');

let dir: string;
let generated: string;

beforeAll(() => {
  mkdirSync(join(ROOT, 'test', '.tmp'), { recursive: true });
  // Inside the repository, so the program resolves zod from node_modules.
  dir = mkdtempSync(join(ROOT, 'test', '.tmp', 'api-types-'));
  execFileSync(process.execPath, [GENERATOR, '--out', join(dir, 'api-types.generated.ts')], {
    stdio: 'pipe',
  });
  generated = readFileSync(join(dir, 'api-types.generated.ts'), 'utf8');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Compiles `program` (next to the generated file) under --strict; the compiler's output on failure. */
function compile(program: string): string | null {
  writeFileSync(join(dir, 'check.ts'), program);
  try {
    execFileSync(
      process.execPath,
      [
        TSC,
        '--strict',
        '--noEmit',
        '--skipLibCheck',
        '--target',
        'es2022',
        '--module',
        'commonjs',
        '--moduleResolution',
        'node',
        '--types',
        'node',
        join(dir, 'check.ts'),
      ],
      { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' },
    );
    return null;
  } catch (err) {
    return String((err as { stdout?: string }).stdout ?? err);
  }
}

describe('the dashboard API types', () => {
  it('are what the schemas give now (npm run typecheck and build regenerate them)', () => {
    if (!existsSync(DASHBOARD_FILE)) {
      throw new Error(`${DASHBOARD_FILE} is missing: npm run typecheck (or npm run build) generates it`);
    }
    // Fails when a schema changed since the file was generated: run `npm run typecheck`.
    expect(readFileSync(DASHBOARD_FILE, 'utf8')).toBe(generated);
    // --check says the same.
    execFileSync(process.execPath, [GENERATOR, '--check'], { stdio: 'pipe' });
  });

  it('carry the status lists as the workflows declare them', () => {
    const list = (name: string): unknown =>
      JSON.parse(new RegExp(`export const ${name}: [^=]+= (\\[[^\\]]*\\]);`).exec(generated)![1]);
    expect(list('JOB_STATUSES')).toEqual([...JOB_STATUSES]);
    expect(list('TERMINAL_STATUSES')).toEqual([...TERMINAL_STATUSES]);
    expect(list('STEP_STATUSES')).toEqual([...STEP_STATUSES]);
  });

  it('say what the server’s types say, field by field', () => {
    const rel = (p: string): string => JSON.stringify(join(ROOT, p).replace(/\.ts$/, ''));
    const program = `
import type { components } from './api-types.generated';
import type { ControlAck, JobState, JobStatus, StepState } from ${rel('workflows/job-state.ts')};
import type {
  AuditEntry, ErrorBody, Health, JobSummary, JobTreeNode, JobTypeInfo, Me, StartJobResponse,
} from ${rel('src/api/contracts.ts')};

type S = components['schemas'];
type Equivalent<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Same<K1, K2> = Equivalent<K1, K2>;
const yes = <T extends true>(v: T): T => v;

// Exactly the same shapes (nothing in them is an open JSON value).
yes<Equivalent<S['JobStatus'], JobStatus>>(true);
yes<Equivalent<S['ControlAck'], ControlAck>>(true);
yes<Equivalent<S['JobSummary'], JobSummary>>(true);
yes<Equivalent<S['JobTreeNode'], JobTreeNode>>(true);
yes<Equivalent<S['Me'], Me>>(true);
yes<Equivalent<S['Health'], Health>>(true);
yes<Equivalent<S['AuditEntry'], AuditEntry>>(true);
yes<Equivalent<S['ErrorBody'], ErrorBody>>(true);
yes<Equivalent<S['JobTypeInfo'], JobTypeInfo>>(true);
yes<Equivalent<S['StartJobResponse'], StartJobResponse>>(true);
// Shapes holding JSON values (\`unknown\` for the dashboard): what the server sends fits, with the same fields.
yes<[JobState] extends [S['JobState']] ? true : false>(true);
yes<Same<keyof S['JobState'], keyof JobState>>(true);
yes<[StepState] extends [S['StepState']] ? true : false>(true);
yes<Same<keyof S['StepState'], keyof StepState>>(true);
`;
    expect(compile(program)).toBeNull();
    // The check can fail: a field the server does not have is an error.
    const wrong = compile(
      program.replace(
        "yes<Equivalent<S['Me'], Me>>(true);",
        "yes<Equivalent<S['Me'], Me & { extra: 1 }>>(true);",
      ),
    );
    expect(wrong).toMatch(/error TS/);
  });
});
