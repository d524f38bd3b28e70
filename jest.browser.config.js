// `npm run test:browser`: the pages a person opens (Bull Board, Swagger UI) in a real headless
// Chromium (Debian's, CHROMIUM_PATH, default /usr/bin/chromium) against real processes.
const base = require('./jest.config.js');
const e2e = base.projects.find((project) => project.displayName === 'e2e');

module.exports = {
  testTimeout: 90000,
  projects: [
    {
      ...e2e,
      displayName: 'browser',
      testMatch: ['<rootDir>/apps/*/test/browser/**/*.browser-spec.ts'],
    },
  ],
};
