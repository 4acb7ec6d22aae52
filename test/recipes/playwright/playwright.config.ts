// The README's Playwright recipe as test/recipes/playwright.test.ts runs it: the signaling server from webServer, or from globalSetup (RECIPE_SIGNAL=global-setup).
import { defineConfig } from '@playwright/test';

const viaGlobalSetup = process.env.RECIPE_SIGNAL === 'global-setup';
/** The app under test: a page that loads peerjs, on a free port; the pattern puts its URL in APP_URL. */
const app = { command: 'node app-server.mjs', wait: { stdout: /app listening on (?<app_url>\S+)/ } };

export default defineConfig({
  testDir: '.',
  workers: 1,
  retries: 0,
  timeout: 30_000,
  use: {
    // Workers read the config after the web servers have started, so APP_URL is set by then.
    baseURL: process.env.APP_URL,
    // This machine's Chromium rather than a downloaded one.
    launchOptions: {
      executablePath: process.env.PEER_SIGNAL_E2E_CHROMIUM ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
  globalSetup: viaGlobalSetup ? './global-setup.ts' : undefined,
  webServer: viaGlobalSetup
    ? [app]
    : [
        app,
        {
          command: 'npx peer-signal --port 0 --host 127.0.0.1',
          wait: { stdout: /listening on (?<peer_signal_url>\S+)/ },
          gracefulShutdown: { signal: 'SIGTERM', timeout: 5000 },
        },
      ],
});
