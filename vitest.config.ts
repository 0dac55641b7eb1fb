import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql 16 has no exports map: without this, vitest can load two copies ("another module or realm").
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    // The fault suite (real processes against stopped databases and misbehaving receivers) runs on its own:
    // `npm run test:faults`.
    include: process.env.HOOKLINE_TEST_SUITE === 'faults' ? ['test/faults/**/*.test.ts'] : ['test/**/*.test.ts'],
    exclude: process.env.HOOKLINE_TEST_SUITE === 'faults' ? [] : ['test/faults/**', '**/node_modules/**'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests start servers and child processes: two at a time fits a 2-core machine.
    maxWorkers: 2,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
