// Preloaded with `node --require` by tests: at exit, writes the path of every module the
// process loaded (require.cache) to MODULE_REPORT.
const { writeFileSync } = require('node:fs');

process.on('exit', () => {
  if (process.env.MODULE_REPORT) {
    writeFileSync(process.env.MODULE_REPORT, JSON.stringify(Object.keys(require.cache)));
  }
});
