/**
 * The tests `npm run mutate` (stryker.config.mjs) runs against each mutant: the unit, store and
 * in-process stack tests. Tests that start processes, bundles, tools or a browser are left out:
 * mutated code in a child runs with no mutant switched on, and a browser test takes seconds to
 * check the page rather than the modules mutated.
 */
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';
import base from './vitest.config';

/**
 * A mutant's run stops at its first failing test (bail), so the files likeliest to fail soonest go
 * first: one that failed on the previous mutant, then the quickest (vitest's own order is the slowest first).
 */
class QuickestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const cache = this.ctx.cache;
    const known = (spec: TestSpecification) => {
      const key = `${spec.project.name}:${relative(this.ctx.config.root, spec.moduleId)}`;
      const result = cache.getFileTestResults(key);
      return { failed: result?.failed ? 0 : 1, cost: result?.duration ?? cache.getFileStats(key)?.size ?? 0 };
    };
    const ranked = files.map((spec) => ({ spec, ...known(spec) }));
    ranked.sort((a, b) => a.failed - b.failed || a.cost - b.cost);
    return ranked.map((r) => r.spec);
  }
}

export default defineConfig({
  test: {
    ...base.test,
    include: ['lib/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: [
      'test/aws-serverless.test.ts',
      'test/browser.test.ts',
      'test/bundles.test.ts',
      'test/cli.test.ts',
      'test/client.test.ts', // the wecred-client package: not part of the mutated code, not in the sandbox
      'test/component-browser.test.ts',
      'test/component-contention.test.ts',
      'test/config-placement.test.ts',
      'test/console.test.ts',
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
    sequence: { ...base.test?.sequence, sequencer: QuickestFirst },
  },
});
