// A Vite dev server started from code with ExpressPeerServer on its HTTP server: HMR's WebSocket still connects and updates a page in Chromium.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { chromium, type Browser } from 'playwright-core';
import { createServer, type Plugin, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExpressPeerServer } from '../../src/compat/express-peer-server.js';
import type { PeerServerApp } from '../../src/compat/types.js';
import { closeAll, type TestClient } from '../support/peer-client.js';
import { openPeer } from './helpers.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../support/chromium.mjs';
import { chromiumProblem, requires } from '../support/prerequisites.js';

/** Generous: two cores shared with other test runs. */
const LAUNCH_MS = 40_000;
const PAGE_MS = 20_000;

const needsChromium = requires('the Vite HMR browser test', chromiumProblem());

const css = (color: string): string => `h1 { color: ${color}; }\n`;

needsChromium.describe('Vite dev server with the peer server on its HTTP server', () => {
  let root = '';
  let vite: ViteDevServer | undefined;
  let peerServer: PeerServerApp | undefined;
  let browser: Browser | undefined;
  let port = 0;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'peer-signal-vite-'));
    writeFileSync(
      join(root, 'index.html'),
      '<!doctype html><html><head><meta charset="utf-8"><title>vite + peer-signal</title></head>' +
        '<body><h1 id="title">hello</h1><script type="module" src="/main.js"></script></body></html>\n',
    );
    writeFileSync(join(root, 'main.js'), "import './style.css';\ndocument.getElementById('title').dataset.ready = 'yes';\n");
    writeFileSync(join(root, 'style.css'), css('rgb(1, 2, 3)'));
    // The way an app adds a server to its dev server: a plugin's configureServer, on server.httpServer.
    const plugin: Plugin = {
      name: 'peer-signal',
      configureServer(server) {
        const app = express();
        peerServer = ExpressPeerServer(server.httpServer as Server, { path: '/myapp' });
        app.use('/peerjs', peerServer);
        server.middlewares.use(app);
      },
    };
    vite = await createServer({
      root,
      configFile: false,
      logLevel: 'silent',
      cacheDir: join(root, '.vite'),
      plugins: [plugin],
      server: { host: '127.0.0.1', port: 0 },
    });
    await vite.listen();
    const address = vite.httpServer!.address();
    if (address === null || typeof address === 'string') throw new Error('Vite is not listening on a TCP port');
    port = address.port;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS], timeout: LAUNCH_MS });
  }, LAUNCH_MS + 20_000);

  afterAll(async () => {
    await closeAll(clients.splice(0));
    await browser?.close();
    await peerServer?.close();
    await vite?.close();
    if (root !== '') rmSync(root, { recursive: true, force: true });
  }, 30_000);

  it("connects Vite's HMR WebSocket and applies a CSS update, while peerjs signaling works on the same server", async () => {
    const page = await browser!.newPage();
    const logged: string[] = [];
    page.on('console', (message) => logged.push(message.text()));
    try {
      await page.goto(`http://127.0.0.1:${port}/`, { timeout: PAGE_MS });
      await page.waitForSelector('h1[data-ready="yes"]', { timeout: PAGE_MS });
      await expect.poll(() => logged, { timeout: PAGE_MS, message: 'the page console' }).toContain('[vite] connected.');

      // Signaling on the same HTTP server, with the page's HMR socket open.
      const alice = await openPeer(port, '/peerjs/myapp/peerjs', 'alice');
      const bob = await openPeer(port, '/peerjs/myapp/peerjs', 'bob');
      clients.push(alice, bob);
      alice.send({ type: 'OFFER', dst: 'bob', payload: { sdp: 'x' } });
      expect(await bob.next(5000)).toMatchObject({ type: 'OFFER', src: 'alice' });
      expect(await (await fetch(`http://127.0.0.1:${port}/peerjs/myapp/peerjs/id`)).text()).toMatch(/^[0-9a-f-]{36}$/);

      // An HMR update over that WebSocket: the page picks up the new CSS without a reload.
      writeFileSync(join(root, 'style.css'), css('rgb(4, 5, 6)'));
      await expect
        .poll(() => page.evaluate("getComputedStyle(document.getElementById('title')).color"), { timeout: PAGE_MS })
        .toBe('rgb(4, 5, 6)');
      expect(logged.some((line) => line.includes('hot updated'))).toBe(true);
      expect(await page.evaluate("document.getElementById('title').dataset.ready")).toBe('yes');
    } finally {
      await page.close();
    }
  }, 60_000);
});
