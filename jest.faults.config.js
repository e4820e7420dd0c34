/**
 * The fault tests (test/faults/, `npm run test:faults`, run by .ci/run after `npm test`): they
 * kill and restart real processes — workers, Temporal Server, PostgreSQL, the API — so they run
 * one file at a time, each file on one cluster (or dev server) of its own. Same transform as
 * jest.config.js.
 * @type {import('jest').Config}
 */
module.exports = {
  maxWorkers: 1,
  testTimeout: 300_000,
  projects: [
    {
      displayName: 'faults',
      transform: {
        '^.+\\.ts$': [
          '@swc/jest',
          {
            jsc: {
              parser: { syntax: 'typescript', decorators: true },
              transform: { legacyDecorator: true, decoratorMetadata: true },
              target: 'es2022',
            },
            module: { type: 'commonjs' },
          },
        ],
      },
      testEnvironment: 'node',
      moduleFileExtensions: ['ts', 'js', 'json'],
      testMatch: ['<rootDir>/test/faults/**/*.test.ts'],
      globalSetup: '<rootDir>/test/faults/global-setup.ts',
      setupFilesAfterEnv: ['<rootDir>/test/setup-runtime.ts'],
    },
  ],
};
