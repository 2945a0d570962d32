/**
 * The tests `npm run mutate` (stryker.config.mjs) runs against each mutant: the unit, store and
 * in-process stack tests. Tests that start processes, bundles, tools or a browser run mutated code
 * in a child where the mutant is not switched on, so they could only slow the run down.
 */
import { defineConfig } from 'vitest/config';
import base from './vitest.config';

export default defineConfig({
  test: {
    ...base.test,
    include: ['lib/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: [
      'test/aws-serverless.test.ts',
      'test/browser.test.ts',
      'test/bundles.test.ts',
      'test/cli.test.ts',
      'test/component-contention.test.ts',
      'test/client.test.ts', // the wecred-client package: not part of the mutated code, not in the sandbox
      'test/config-placement.test.ts',
      'test/contention.test.ts',
      'test/demo.test.ts',
      'test/deploy-scf.test.ts',
      'test/dockerfile.test.ts',
      'test/multiprocess.test.ts',
      'test/recipes-browser.test.ts',
      'test/recipes.test.ts',
      'test/store-outage.test.ts',
      'test/suite-contention.test.ts',
    ],
  },
});
