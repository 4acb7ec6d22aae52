// The README's GitHub Actions steps run with sh in a project that installed the packed package: a passing and a failing `npm test`.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeBlock, readmeSection, workflowSteps, type WorkflowStep } from './readme-blocks.js';
import { recipeEnv, runRecipe, type RecipeResult } from './run-recipe.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NPM_MS = 30_000;
/** One step takes a second or two (npx, a server, node); the test gets a minute in all. */
const STEP_MS = 20_000;
const TEST_MS = 60_000;

const workflow = codeBlock(readmeSection('GitHub Actions'), '.github/workflows/e2e.yml');
/** The steps the tests run: those that call peer-signal (checkout, setup-node, npm ci and the browser install are GitHub's and npm's). */
const steps = workflowSteps(workflow).filter((step) => step.run?.includes('peer-signal') === true);

/**
 * The project's `npm test`: asks PEER_SIGNAL_URL for /health, then has the server relay an OFFER
 * between two raw peers on PEER_SIGNAL_WS_URL (so the transcript has something to draw), and fails
 * when E2E_FAIL is set.
 */
const E2E_SCRIPT = `import { createRequire } from 'node:module';
const WebSocket = createRequire(${JSON.stringify(join(ROOT, 'package.json'))})('ws');
const health = await fetch(process.env.PEER_SIGNAL_URL + '/health');
if (health.status !== 200) throw new Error('/health answered ' + health.status);
const connect = (id) => new WebSocket(process.env.PEER_SIGNAL_WS_URL + '?key=' + process.env.PEER_SIGNAL_KEY + '&id=' + id + '&token=t');
const next = (socket) => new Promise((resolve) => socket.once('message', (data) => resolve(JSON.parse(String(data)))));
const alice = connect('alice');
const bob = connect('bob');
await Promise.all([next(alice), next(bob)]);
const offer = next(bob);
alice.send(JSON.stringify({ type: 'OFFER', dst: 'bob', payload: { type: 'data' } }));
console.log('bob got', (await offer).type, 'from', (await offer).src);
alice.close();
bob.close();
if (process.env.E2E_FAIL) {
  console.error('failing on purpose');
  process.exit(1);
}
`;

let work = '';
let project = '';

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/cli.js'))) throw new Error('dist/cli.js is missing; run npm run build first (npm test does it)');
  work = mkdtempSync(join(tmpdir(), 'peer-signal-recipe-actions-'));
  project = join(work, 'app');
  mkdirSync(join(work, 'pack'));
  mkdirSync(project);
  const env = recipeEnv();
  // --ignore-scripts: prepack would rebuild dist/ under the other test files running in parallel.
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', join(work, 'pack')], { cwd: ROOT, env, timeout: NPM_MS });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string }>;
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'e2e-app', private: true, type: 'module', scripts: { test: 'node e2e.mjs' } }, null, 2));
  writeFileSync(join(project, 'e2e.mjs'), E2E_SCRIPT);
  // What `npm ci` gives the workflow: peer-signal as a dev dependency, its bin in node_modules/.bin.
  const tarball = join(work, 'pack', packed!.filename);
  await run('npm', ['install', '-D', tarball, '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: project, env, timeout: NPM_MS });
  // npx finds it there, not in this checkout.
  expect(existsSync(join(project, 'node_modules/.bin/peer-signal'))).toBe(true);
}, 60_000);

afterAll(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

interface JobResult {
  /** The steps that ran, with their results. */
  ran: Array<{ step: WorkflowStep; result: RecipeResult }>;
  failed: boolean;
}

/** Runs the steps as GitHub does: each in its own `sh -e`; after a failure only the `if: failure()` steps. */
async function runJob(env: Record<string, string> = {}): Promise<JobResult> {
  rmSync(join(project, 'signal.ndjson'), { force: true });
  rmSync(join(project, 'signal.html'), { force: true });
  const ran: JobResult['ran'] = [];
  let failed = false;
  for (const step of steps) {
    if ((step.if === 'failure()') !== failed) continue;
    const result = await runRecipe('sh', ['-e', '-c', step.run!], { cwd: project, env: recipeEnv({ NO_COLOR: '1', ...env }), timeoutMs: STEP_MS });
    expect(result.timedOut, `step "${step.name}" did not end within ${STEP_MS} ms:\n${result.output}`).toBe(false);
    ran.push({ step, result });
    if (result.code !== 0) failed = true;
  }
  return { ran, failed };
}

describe('the GitHub Actions recipe', () => {
  it('runs the tests under peer-signal run, and keeps the transcript and the diagram on failure', () => {
    expect(steps.map((step) => [step.if, step.run])).toEqual([
      [undefined, 'npx peer-signal run --transcript signal.ndjson -- npm test\n'],
      ['failure()', 'npx peer-signal transcript signal.ndjson --html signal.html\n'],
    ]);
    const upload = workflowSteps(workflow).find((step) => step.uses?.startsWith('actions/upload-artifact@') === true);
    expect(upload?.if).toBe('failure()');
    expect(workflow).toMatch(/path: \|\n\s+signal\.ndjson\n\s+signal\.html\n/);
  });

  it(
    'passes when npm test passes: the server answered, the transcript holds the relay',
    async () => {
      const { ran, failed } = await runJob();
      const output = ran.map(({ result }) => result.output).join('\n');
      expect(failed, output).toBe(false);
      expect(ran).toHaveLength(1);
      expect(output).toContain('bob got OFFER from alice');
      expect(output).toContain('peer-signal: 2 peers seen, 1 message relayed (OFFER 1)');
      expect(readFileSync(join(project, 'signal.ndjson'), 'utf8')).toContain('"OFFER"');
      expect(existsSync(join(project, 'signal.html'))).toBe(false);
    },
    TEST_MS,
  );

  it(
    "fails when npm test fails, with npm test's exit code; the failure step draws the diagram that run pointed to",
    async () => {
      const { ran, failed } = await runJob({ E2E_FAIL: '1' });
      const output = ran.map(({ result }) => result.output).join('\n');
      expect(failed, output).toBe(true);
      expect(ran.map(({ result }) => result.code)).toEqual([1, 0]);
      expect(ran[0]!.result.output).toContain('failing on purpose');
      // The hint run prints is the README's failure step, word for word.
      expect(ran[0]!.result.output).toContain(`peer-signal: see the sequence diagram: ${steps[1]!.run!.trim().replace(/^npx /, '')}`);
      expect(existsSync(join(project, 'signal.ndjson'))).toBe(true);
      expect(readFileSync(join(project, 'signal.html'), 'utf8')).toContain('OFFER');
    },
    TEST_MS,
  );
});
