// vitest.config.ts: the signaling server starts once, before the first test file
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['./global-setup.ts'],
  },
});
