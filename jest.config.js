/** @type {import('jest').Config} */
// swc compiles each test file and what it imports one file at a time, with no type information (as
// ts-jest's isolatedModules would); tsconfig.json's `isolatedModules` makes tsc refuse what such a
// per-file compile cannot do (a type re-exported without `export type`, a const enum across files).
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  },
];
const common = {
  transform: { '^.+\\.ts$': swc },
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  // The package's public entries, as a user imports them (tsconfig.json "paths" says the same).
  moduleNameMapper: {
    '^stepwise$': '<rootDir>/workflows/sdk/index.ts',
    '^stepwise/workflow$': '<rootDir>/workflows/sdk/workflow.ts',
    '^stepwise/(worker|client|server|testing)$': '<rootDir>/src/sdk/$1.ts',
  },
};

module.exports = {
  // Workflow tests share one dev server per run; two workers fit the 2-core machine.
  maxWorkers: 2,
  // Workflow and e2e tests wait on real servers; each wait inside has its own, shorter deadline.
  testTimeout: 120_000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
      // The dashboard's browser modules import each other as `./x.js` (ES modules); here they are .ts.
      moduleNameMapper: { ...common.moduleNameMapper, '^(\\./.*)\\.js$': '$1' },
    },
    {
      ...common,
      displayName: 'temporal',
      testMatch: ['<rootDir>/test/{workflow,api,replay,e2e,browser}/**/*.test.ts'],
      globalSetup: '<rootDir>/test/global-setup.ts',
      globalTeardown: '<rootDir>/test/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/setup-runtime.ts'],
    },
  ],
};
