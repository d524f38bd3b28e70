// `npm run test:reliability`: system-level fault and load tests against real processes (SPEC §11):
// rolling restart, Redis and PostgreSQL restarts under load, a worker killed mid-jobs, a bad-input
// storm and a minute of sustained load. Each case bounds itself in time.
const base = require('./jest.config.js');
const e2e = base.projects.find((project) => project.displayName === 'e2e');

module.exports = {
  testTimeout: 180000,
  projects: [
    {
      ...e2e,
      displayName: 'reliability',
      testMatch: ['<rootDir>/test/reliability/**/*.reliability-spec.ts'],
      globalSetup: '<rootDir>/test/reliability/global-setup.ts',
    },
  ],
};
