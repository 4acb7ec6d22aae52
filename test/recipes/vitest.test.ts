// The README's Vitest recipe run by its own vitest: a globalSetup with startSignalServer, and a test that relays an OFFER between two raw peers.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { codeBlock, readmeSection } from './readme-blocks.js';
import { recipeEnv, runRecipe } from './run-recipe.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROJECT = join(ROOT, 'test/recipes/vitest');
/** The run takes about 2 s here. */
const RUN_MS = 45_000;
const TEST_MS = 60_000;

const section = readmeSection('Vitest');
const work = mkdtempSync(join(tmpdir(), 'peer-signal-recipe-vitest-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the Vitest recipe', () => {
  it.each(['vitest.config.ts', 'global-setup.ts', 'relay.test.ts'])('README shows %s as the test project has it', (file) => {
    expect(codeBlock(section, file)).toBe(readFileSync(join(PROJECT, file), 'utf8'));
  });

  it(
    'passes, run by npx vitest run in its project',
    async () => {
      const report = join(work, 'report.json');
      // cwd is the project, as for a user: vitest's root is the working directory, not the config's.
      // --no-cache: no node_modules/.vite in the project directory.
      const result = await runRecipe(
        join(ROOT, 'node_modules/.bin/vitest'),
        ['run', '--config', 'vitest.config.ts', '--no-cache', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`],
        { cwd: PROJECT, env: recipeEnv({ NO_COLOR: '1' }), timeoutMs: RUN_MS },
      );
      expect(result.timedOut, `npx vitest run did not end within ${RUN_MS} ms:\n${result.output}`).toBe(false);
      expect(result.code, result.output).toBe(0);
      const summary = JSON.parse(readFileSync(report, 'utf8')) as Record<string, unknown>;
      expect(summary, result.output).toMatchObject({ success: true, numTotalTests: 1, numPassedTests: 1, numFailedTests: 0 });
    },
    TEST_MS,
  );
});
