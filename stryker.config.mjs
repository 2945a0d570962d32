// Mutation testing, `npm run mutate` (not part of npm test): small faults are planted in the code
// that carries the guarantees, one at a time, and each must make some test fail. Incremental: a
// rerun tests only mutants whose code or covering tests changed (reports/stryker-incremental.json).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.mutate.config.ts' },
  mutate: [
    'lib/store/**/*.ts',
    'lib/gateway/**/*.ts',
    'lib/crypto/**/*.ts',
    'lib/sessions/**/*.ts',
    'lib/credentials/**/*.ts',
    '!lib/**/*.test.ts',
  ],
  // Each mutant runs only the tests that reach it; module-level constants (which every test
  // reaches at load) are left out, as they would need the whole suite per mutant.
  coverageAnalysis: 'perTest',
  ignoreStatic: true,
  // The tests mostly wait (leases, timers, sleeps), leaving the CPU idle: two runners per core of this 2-core machine.
  concurrency: 4,
  // Four runners share two cores: a run may take well over its dry-run time without hanging.
  timeoutFactor: 2.5,
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
