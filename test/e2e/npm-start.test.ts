// `npm start` (scripts/start.js) in a copy of the checkout: builds when dist/ is missing or older than src/, not otherwise.
import { cpSync, mkdtempSync, rmSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, cleanup, httpGet, readListening, serverEnv, spawnCli } from './helpers.js';

/** A build (tsup, declarations included) on a busy 2-core machine. */
const BUILD_MS = 90_000;

let copy = '';

/** npm without the npm_* variables a parent `npm test` exports, with our node first on PATH (npm runs the build). */
function startEnv(): NodeJS.ProcessEnv {
  const env = serverEnv();
  for (const name of Object.keys(env)) if (name.toLowerCase().startsWith('npm_')) delete env[name];
  env.PATH = `${dirname(process.execPath)}${delimiter}${env.PATH ?? ''}`;
  env.npm_config_update_notifier = 'false';
  return env;
}

/** Runs `node scripts/start.js --port 0 --host 127.0.0.1` in the copy until it listens, checks it serves, then stops it with SIGTERM. */
async function start(): Promise<void> {
  const server = spawnCli(['--port', '0', '--host', '127.0.0.1'], { exec: [process.execPath, join(copy, 'scripts/start.js')], cwd: copy, fullEnv: startEnv() });
  const { url } = await readListening(server, BUILD_MS);
  expect((await httpGet(`${url}/health`)).status).toBe(200);
  server.signal('SIGTERM');
  const result = await server.waitForExit(10_000);
  expect(result.code, result.stderr).toBe(0);
}

const builtAt = (): number => statSync(join(copy, 'dist/cli.js')).mtimeMs;

beforeAll(() => {
  copy = mkdtempSync(join(tmpdir(), 'peer-signal-start-'));
  for (const entry of ['package.json', 'tsconfig.json', 'tsup.config.ts', 'src', 'bin', 'scripts/start.js']) cpSync(join(ROOT, entry), join(copy, entry), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
});

afterEach(cleanup);
afterAll(() => {
  if (copy !== '') rmSync(copy, { recursive: true, force: true });
});

describe('npm start', () => {
  it('builds dist/ when it is missing, starts from it as it is when current, and rebuilds once a source is newer', async () => {
    await start();
    const first = builtAt();

    await start();
    expect(builtAt(), 'a current build was rebuilt').toBe(first);

    // A source edited after the build (its mtime a second past the bundle's, whatever the file system's resolution).
    const edited = join(copy, 'src/version.ts');
    const later = new Date(first + 1000);
    utimesSync(edited, later, later);
    await start();
    expect(builtAt(), 'a stale build was not rebuilt').toBeGreaterThan(first);
  }, 3 * BUILD_MS);
});
