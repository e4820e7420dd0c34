/**
 * The deploy checks' jest run (test/deploy/, `npm run check:deploy`, run by .ci/run before
 * `npm test`): the series check starts the real system against the test run's dev server (the
 * same global setup as jest.config.js's temporal project). Same transform as jest.config.js.
 * @type {import('jest').Config}
 */
module.exports = {
  maxWorkers: 1,
  testTimeout: 180_000,
  projects: [
    {
      displayName: 'deploy',
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
      testMatch: ['<rootDir>/test/deploy/**/*.test.ts'],
      globalSetup: '<rootDir>/test/global-setup.ts',
      globalTeardown: '<rootDir>/test/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/setup-runtime.ts'],
    },
  ],
};
