// The README's Playwright Test recipe run by the real runner: two pages exchange a message through peer-signal, started by webServer or by globalSetup.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CHROMIUM } from '../support/chromium.mjs';
import { chromiumProblem, requires } from '../support/prerequisites.js';
import { codeBlock, readmeSection } from './readme-blocks.js';
import { recipeEnv, runRecipe } from './run-recipe.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROJECT = join(ROOT, 'test/recipes/playwright');
/** Both variants take 3 to 5 s here; the spec's own timeout is 30 s, and Playwright stops its web servers after it. */
const RUN_MS = 50_000;
const TEST_MS = 60_000;

const section = readmeSection('Playwright Test');
const work = mkdtempSync(join(tmpdir(), 'peer-signal-recipe-playwright-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const runner = requires('the Playwright recipe', chromiumProblem());

describe('README: the Playwright Test recipe', () => {
  it('shows the spec and the globalSetup file that the test project runs', () => {
    expect(codeBlock(section, 'two-peers.spec.ts')).toBe(readFileSync(join(PROJECT, 'two-peers.spec.ts'), 'utf8'));
    expect(codeBlock(section, 'global-setup.ts')).toBe(readFileSync(join(PROJECT, 'global-setup.ts'), 'utf8'));
  });

  it("shows the webServer entry that the test project's config uses", () => {
    const readmeConfig = codeBlock(section, 'playwright.config.ts');
    const entry = /^ *\{\n( *command: 'npx peer-signal[\s\S]*?)^ *\},$/m.exec(readmeConfig);
    expect(entry, 'the peer-signal entry of webServer in the README').not.toBeNull();
    const config = readFileSync(join(PROJECT, 'playwright.config.ts'), 'utf8');
    const configLines = new Set(config.split('\n').map((line) => line.trim()));
    for (const line of entry![1]!.split('\n').filter((text) => text.trim() !== '')) expect(configLines).toContain(line.trim());
    expect(section).toContain("`globalSetup: './global-setup.ts'`");
    expect(config).toContain("'./global-setup.ts'");
  });
});

runner.describe('the Playwright Test recipe, run by npx playwright test', () => {
  it.each([
    ['webServer', 'web-server'],
    ['globalSetup', 'global-setup'],
  ])('passes with the signaling server from %s', async (_name, variant) => {
    for (const built of ['dist/index.js', 'dist/cli.js']) {
      if (!existsSync(join(ROOT, built))) throw new Error(`${built} is missing; run npm run build first (npm test does it)`);
    }
    const report = join(work, `${variant}.json`);
    const result = await runRecipe(
      join(ROOT, 'node_modules/.bin/playwright'),
      ['test', '-c', 'test/recipes/playwright/playwright.config.ts', '--output', join(work, `${variant}-results`), '--reporter=list,json'],
      { cwd: ROOT, env: recipeEnv({ RECIPE_SIGNAL: variant, PLAYWRIGHT_JSON_OUTPUT_NAME: report, PEER_SIGNAL_E2E_CHROMIUM: CHROMIUM }), timeoutMs: RUN_MS },
    );
    expect(result.timedOut, `npx playwright test did not end within ${RUN_MS} ms:\n${result.output}`).toBe(false);
    expect(result.code, result.output).toBe(0);
    const { stats } = JSON.parse(readFileSync(report, 'utf8')) as { stats: Record<string, number> };
    expect(stats, result.output).toMatchObject({ expected: 1, unexpected: 0, flaky: 0, skipped: 0 });
    // The webServer variant's server logged both peers; the globalSetup one logs nothing (no logger).
    if (variant === 'web-server') expect(result.output).toMatch(/peer connected id=alice[\s\S]*peer connected id=bob|peer connected id=bob[\s\S]*peer connected id=alice/);
  }, TEST_MS);
});
