// `npm run test:scale`: the platform on the engines operators run at scale (SPEC §13) — Redis
// Sentinel with a failover, Redis Cluster, PgBouncer in transaction mode, many replicas under
// load. Every server is started by the test on free ports.
const base = require('./jest.config.js');
const e2e = base.projects.find((project) => project.displayName === 'e2e');

module.exports = {
  testTimeout: 240000,
  projects: [
    {
      ...e2e,
      displayName: 'scale',
      testMatch: ['<rootDir>/test/scale/**/*.scale-spec.ts'],
      globalSetup: '<rootDir>/test/scale/global-setup.ts',
    },
  ],
};
