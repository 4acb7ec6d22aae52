// Test runner settings: the version define mirrors tsup, every test has a bounded time, and every run ends with its skip summary.
import { readFileSync } from 'node:fs';
import { configDefaults, defineConfig } from 'vitest/config';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

export default defineConfig({
  define: { __PEER_SIGNAL_VERSION__: JSON.stringify(version) },
  test: {
    include: ['test/**/*.test.ts'],
    // test/recipes/<tool>/ are small projects of their own, run by test/recipes/*.test.ts through their own runner.
    exclude: [...configDefaults.exclude, 'test/recipes/*/**'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    teardownTimeout: 10_000,
    // How many tests were skipped and why (what the machine lacks); with CI=true a skip fails the run.
    reporters: ['default', './test/support/skip-summary.ts'],
  },
});
