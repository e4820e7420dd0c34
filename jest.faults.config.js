/**
 * The fault tests (test/faults/, `npm run test:faults`, run by .ci/run after `npm test`): they
 * kill and restart real processes — workers, Temporal Server, PostgreSQL, the API — so they run
 * one file at a time, each file on one cluster (or dev server) of its own.
 * @type {import('jest').Config}
 */
const base = require('./jest.config.js');
const temporal = base.projects.find((p) => p.displayName === 'temporal');

module.exports = {
  maxWorkers: 1,
  testTimeout: 300_000,
  projects: [
    {
      transform: temporal.transform,
      testEnvironment: 'node',
      moduleFileExtensions: temporal.moduleFileExtensions,
      displayName: 'faults',
      testMatch: ['<rootDir>/test/faults/**/*.test.ts'],
      globalSetup: '<rootDir>/test/faults/global-setup.ts',
      setupFilesAfterEnv: ['<rootDir>/test/setup-runtime.ts'],
    },
  ],
};
