/**
 * The tests `npm run mutate` (stryker.config.mjs) runs against each mutant: the unit, store and
 * in-process stack tests. Tests that start processes, bundles or a browser run mutated code in a
 * child where the mutant is not switched on, so they could only slow the run down.
 */
import { defineConfig } from 'vitest/config';
import base from './vitest.config';

export default defineConfig({
  test: {
    ...base.test,
    include: ['lib/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: [
      'test/browser.test.ts',
      'test/bundles.test.ts',
      'test/contention.test.ts',
      'test/demo.test.ts',
      'test/multiprocess.test.ts',
    ],
  },
});
