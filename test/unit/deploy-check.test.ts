/**
 * The deploy checks fail on a broken file, with the checking tool's own message, and pass on the
 * committed ones: docker-compose.yml through Compose's loader (scripts/compose-check, compose-go)
 * and the alert rules through promtool, each run on deliberately broken copies in a temporary
 * folder. Needs the tools `npm run deploy:install` builds (.tools/deploy-tools.json); without them
 * these tests are skipped with that message, except in CI (CI=true), where they are required.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const RECORD = join(ROOT, '.tools', 'deploy-tools.json');

interface DeployTools {
  composeCheck: string;
  promtool: string;
}

function installedTools(): DeployTools | null {
  if (!existsSync(RECORD)) return null;
  const tools = JSON.parse(readFileSync(RECORD, 'utf8')) as DeployTools;
  return existsSync(tools.composeCheck) && existsSync(tools.promtool) ? tools : null;
}

const tools = installedTools();
if (!tools && process.env.CI) {
  throw new Error(`CI needs the deploy tools (${RECORD}): .ci/run runs "npm run deploy:install" first`);
}
if (!tools)
  console.warn(
    `deploy-check: skipped, the deploy tools are not installed (${RECORD}): run "npm run deploy:install"`,
  );
const describeWithTools = tools ? describe : describe.skip;
const skipped = tools ? '' : ' [skipped: the deploy tools are not installed; run "npm run deploy:install"]';

/** Runs a tool; its exit code and everything it printed. */
function run(bin: string, args: string[], cwd: string): { code: number | null; output: string } {
  const r = spawnSync(bin, args, { cwd, encoding: 'utf8' });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'stepwise-deploy-check-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describeWithTools(`docker-compose.yml through Compose's loader${skipped}`, () => {
  const original = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
  const secrets = ['-e', 'STEPWISE_POSTGRES_PASSWORD=x', '-e', 'STEPWISE_API_KEYS=me:admin:0123456789abcdef'];

  /** `text` as docker-compose.yml in the temporary folder, next to what it mounts and builds. */
  const check = (text: string, env = secrets): { code: number | null; output: string } => {
    writeFileSync(join(dir, 'docker-compose.yml'), text);
    for (const entry of ['scripts', 'Dockerfile']) {
      if (!existsSync(join(dir, entry))) symlinkSync(join(ROOT, entry), join(dir, entry));
    }
    return run(tools!.composeCheck, [...env, 'docker-compose.yml'], dir);
  };
  const broken = (from: string, to: string): string => {
    expect(original).toContain(from);
    return original.replace(from, to);
  };

  it('the committed file loads (here and as a copy)', () => {
    const here = run(tools!.composeCheck, [...secrets, 'docker-compose.yml'], ROOT);
    expect(here).toMatchObject({ code: 0 });
    expect(here.output).toMatch(/loads with github.com\/compose-spec\/compose-go\/v2 v2\.16\.2/);
    expect(here.output).toContain('temporal-schema');
    expect(check(original)).toMatchObject({ code: 0 });
  });

  it('depends_on a service that does not exist', () => {
    const r = check(
      broken('      temporal-schema:\n        condition', '      temporal-schemas:\n        condition'),
    );
    expect(r.code).toBe(1);
    expect(r.output).toContain('service "temporal" depends on undefined service "temporal-schemas"');
  });

  it('a key the Compose schema does not allow', () => {
    const r = check(
      broken(
        '    restart: unless-stopped\n    depends_on:\n      temporal-schema:',
        '    restarts: unless-stopped\n    depends_on:\n      temporal-schema:',
      ),
    );
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/validating .*docker-compose\.yml: services\.temporal\.restarts /);
  });

  it('a value of the wrong type', () => {
    const r = check(broken("      - '127.0.0.1:7233:7233'", "      - ['127.0.0.1:7233:7233']"));
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/services\.temporal\.ports/);
  });

  it('a required variable left unset: the message the file gives', () => {
    const r = check(original, ['-e', 'STEPWISE_API_KEYS=me:admin:0123456789abcdef']);
    expect(r.code).toBe(1);
    expect(r.output).toContain(
      'required variable STEPWISE_POSTGRES_PASSWORD is missing a value: set STEPWISE_POSTGRES_PASSWORD (in .env, mode 0600; see docs/production.md)',
    );
  });

  it('an interpolation that does not parse', () => {
    const r = check(
      broken('POSTGRES_PWD: ${STEPWISE_POSTGRES_PASSWORD:?', 'POSTGRES_PWD: ${STEPWISE POSTGRES_PASSWORD:?'),
    );
    expect(r.code).toBe(1);
    expect(r.output).toContain('invalid interpolation format for services.temporal.environment.POSTGRES_PWD');
  });

  it('a dependency cycle', () => {
    const r = check(
      broken(
        '    depends_on:\n      postgresql:\n        condition: service_healthy\n    environment:\n      SQL_PLUGIN',
        '    depends_on:\n      temporal:\n        condition: service_healthy\n    environment:\n      SQL_PLUGIN',
      ),
    );
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/dependency cycle detected/);
  });

  it('a bind-mounted file that does not exist, and an image left to float', () => {
    const r = check(
      broken('./scripts/cluster/temporal-schema.sh:', './scripts/cluster/temporal-schema-v2.sh:').replace(
        'image: postgres:16',
        'image: postgres',
      ),
    );
    expect(r.code).toBe(1);
    expect(r.output).toMatch(
      /service "temporal-schema" bind-mounts .*temporal-schema-v2\.sh, which does not exist/,
    );
    expect(r.output).toContain('service "postgresql": image postgres has no tag (it would float to latest)');
  });
});

describeWithTools(`the alert rules through promtool${skipped}`, () => {
  const rules = readFileSync(join(ROOT, 'deploy', 'prometheus', 'alerts.yml'), 'utf8');
  const tests = readFileSync(join(ROOT, 'deploy', 'prometheus', 'alerts.test.yml'), 'utf8');
  const checkRules = (text: string): { code: number | null; output: string } => {
    writeFileSync(join(dir, 'alerts.yml'), text);
    return run(tools!.promtool, ['check', 'rules', 'alerts.yml'], dir);
  };
  const testRules = (rulesText: string, testsText: string): { code: number | null; output: string } => {
    writeFileSync(join(dir, 'alerts.yml'), rulesText);
    writeFileSync(join(dir, 'alerts.test.yml'), testsText);
    return run(tools!.promtool, ['test', 'rules', 'alerts.test.yml'], dir);
  };

  it('the committed rules pass their checks and unit tests (npm run check:deploy, its static half)', () => {
    const r = run(process.execPath, [join(ROOT, 'scripts', 'check-deploy.mjs')], ROOT);
    expect(r.output).toContain('[check-deploy] 4 checks passed');
    expect(r.output).toMatch(/SUCCESS: 12 rules found/);
    expect(r.code).toBe(0);
    copyFileSync(join(ROOT, 'deploy', 'prometheus', 'alerts.yml'), join(dir, 'copy.yml'));
    expect(run(tools!.promtool, ['check', 'rules', 'copy.yml'], dir)).toMatchObject({ code: 0 });
  });

  it('an expression that does not parse', () => {
    expect(rules).toContain('expr: up{job="stepwise-worker"} == 0');
    const r = checkRules(
      rules.replace('expr: up{job="stepwise-worker"} == 0', 'expr: up{job="stepwise-worker" == 0'),
    );
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(
      /"StepwiseWorkerDown": could not parse expression: .*parse error: unexpected "=" in label matching/,
    );
  });

  it('an annotation template that does not parse', () => {
    const r = checkRules(
      rules.replace(
        "'Stepwise worker {{ $labels.instance }} is not scraped'",
        "'Stepwise worker {{ $labels.instance } is not scraped'",
      ),
    );
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(
      /"StepwiseWorkerDown": annotation "summary": template: __alert_StepwiseWorkerDown:1: unexpected "\}"/,
    );
  });

  it('a rule whose behaviour changed fails its unit test', () => {
    // The threshold of the failure-rate alert raised from 10 % to 60 %: the 50 % sample no longer fires.
    expect(rules).toContain(') > 0.1\n');
    const r = testRules(rules.replace(') > 0.1\n', ') > 0.6\n'), tests);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/FAILED:[\s\S]*alertname: StepwiseJobFailureRateHigh/);
  });
});
