import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // examples/ import the client as its users do; here that name is its source.
  resolve: { alias: { 'wecred-client': fileURLToPath(new URL('./client/src/index.ts', import.meta.url)) } },
  test: {
    include: [
      'lib/**/*.test.ts',
      'sim/**/*.test.ts',
      'functions/**/*.test.ts',
      'test/**/*.test.ts',
      'client/test/**/*.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // The AWS SDK warns on every load that its 2027 releases will need Node 22; tests run on 20.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
