/**
 * The build's conventions, checked where a drift would otherwise go unnoticed until a deploy
 * (docs/dependencies.md): one exact Node.js release for the image and for development, inside
 * package.json's engines; the TypeScript settings TypeScript 6 still accepts; nest-cli.json naming
 * the real entry and tsconfig; exact pins; and the update groups of renovate.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const json = <T>(path: string): T => JSON.parse(read(path)) as T;

interface PackageJson {
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}
interface TsConfig {
  compilerOptions: Record<string, unknown>;
}

type Version = [number, number, number];
const parse = (v: string): Version => {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(v.trim());
  if (!m) throw new Error(`not a version: ${v}`);
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
};
const compare = (a: Version, b: Version): number => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/**
 * Whether `version` satisfies an engines range made of `>=`, `>`, `<`, `<=`, `^` and exact
 * comparators, space-separated within an alternative, alternatives joined by `||`.
 */
function satisfies(version: string, range: string): boolean {
  const v = parse(version);
  return range.split('||').some((alternative) =>
    alternative
      .trim()
      .split(/\s+/)
      .every((comparator) => {
        const m = /^(>=|<=|>|<|\^|=)?(.+)$/.exec(comparator);
        if (!m) throw new Error(`unsupported comparator: ${comparator}`);
        const bound = parse(m[2]);
        const c = compare(v, bound);
        switch (m[1]) {
          case '>=':
            return c >= 0;
          case '>':
            return c > 0;
          case '<':
            return c < 0;
          case '<=':
            return c <= 0;
          case '^':
            return c >= 0 && v[0] === bound[0];
          default:
            return c === 0;
        }
      }),
  );
}

describe('Node.js: Dockerfile, .nvmrc and engines agree', () => {
  const nvmrc = read('.nvmrc').trim();
  const froms = [...read('Dockerfile').matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);

  it('pins one exact release in .nvmrc', () => {
    expect(nvmrc).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('builds and runs the image on that exact release (every stage)', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from).toBe(`node:${nvmrc}-bookworm-slim`);
  });

  it('lies inside package.json engines, which still admits what CI runs (Node 20)', () => {
    const { engines } = json<PackageJson>('package.json');
    expect(satisfies(nvmrc, engines.node)).toBe(true);
    expect(satisfies('20.20.2', engines.node)).toBe(true);
  });

  it('the range check itself', () => {
    expect(satisfies('24.21.0', '>=22')).toBe(true);
    expect(satisfies('20.20.2', '>=22')).toBe(false);
    expect(satisfies('20.3.0', '>=20.3')).toBe(true);
    expect(satisfies('20.2.9', '>=20.3')).toBe(false);
    expect(satisfies('22.1.0', '^20.3.0 || ^22.0.0')).toBe(true);
    expect(satisfies('23.0.0', '^20.3.0 || ^22.0.0')).toBe(false);
  });
});

describe('TypeScript settings', () => {
  const configs = ['tsconfig.json', 'src/dashboard/tsconfig.json'];

  it.each(configs)('%s: no deprecated module resolution or baseUrl; isolatedModules on', (file) => {
    const options = json<TsConfig>(file).compilerOptions;
    expect(String(options.moduleResolution).toLowerCase()).not.toMatch(/^(node|node10|classic)$/);
    expect(options.baseUrl).toBeUndefined();
    expect(options.isolatedModules).toBe(true);
  });

  it('the Node side compiles as Node does (node16): CommonJS, since package.json has no "type"', () => {
    const options = json<TsConfig>('tsconfig.json').compilerOptions;
    expect(options).toMatchObject({ module: 'node16', moduleResolution: 'node16' });
    expect(json<{ type?: string }>('package.json').type).toBeUndefined();
  });
});

describe('nest-cli.json describes the real build', () => {
  const nest = json<{
    sourceRoot: string;
    entryFile: string;
    compilerOptions: { tsConfigPath: string; builder: string; deleteOutDir: boolean };
  }>('nest-cli.json');

  it('names the API entry, the build tsconfig and a builder that leaves the rest of dist/ alone', () => {
    expect(existsSync(join(ROOT, nest.sourceRoot, `${nest.entryFile}.ts`))).toBe(true);
    expect(nest.compilerOptions).toEqual({
      builder: 'tsc',
      tsConfigPath: 'tsconfig.build.json',
      deleteOutDir: false,
    });
    const scripts = json<{ scripts: Record<string, string> }>('package.json').scripts;
    expect(scripts.build).toContain(`tsc -p ${nest.compilerOptions.tsConfigPath}`);
    // The compiled entry is where the image runs it (rootDir "." keeps src/ under dist/).
    expect(read('Dockerfile')).toContain(`"dist/${nest.sourceRoot}/${nest.entryFile}.js"`);
  });
});

describe('dependencies', () => {
  const pkg = json<PackageJson>('package.json');

  it('are all pinned to exact versions', () => {
    const ranged = Object.entries({ ...pkg.dependencies, ...pkg.devDependencies }).filter(
      ([, v]) => !/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(v),
    );
    expect(ranged).toEqual([]);
  });

  it('move in the documented groups (renovate.json): the Temporal SDK with protobufjs, NestJS with Fastify', () => {
    const renovate = json<{ packageRules: { matchPackageNames?: string[]; groupName?: string }[] }>(
      'renovate.json',
    );
    const groupOf = (name: string): string | undefined =>
      renovate.packageRules.find((r) =>
        r.matchPackageNames?.some(
          (p) => p === name || (p.endsWith('/**') && name.startsWith(p.slice(0, -2))),
        ),
      )?.groupName;
    const temporal = Object.keys(pkg.dependencies).filter((n) => n.startsWith('@temporalio/'));
    expect(new Set([...temporal, 'protobufjs'].map(groupOf))).toEqual(new Set(['Temporal TypeScript SDK']));
    const nest = Object.keys(pkg.dependencies).filter((n) => n.startsWith('@nestjs/'));
    expect(new Set([...nest, 'fastify'].map(groupOf))).toEqual(new Set(['NestJS and Fastify']));
  });

  it('protobufjs: pinned where docs/dependencies.md says why, at the version it names', () => {
    expect(read('docs/dependencies.md')).toContain(`exact version (${pkg.dependencies.protobufjs})`);
  });
});
