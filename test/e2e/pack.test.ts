// The published package: npm pack the built tree, install the tarball globally into a temp prefix, run the installed bin.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, serverEnv, cleanup, httpGet, readListening, runCli, spawnCli } from './helpers.js';

const run = promisify(execFile);
const NPM_TIMEOUT_MS = 30_000;
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const ALLOWED_TOP_LEVEL = new Set(['package.json', 'README.md', 'LICENSE', 'SECURITY.md']);

/** npm without the npm_* variables a parent `npm test` exports, and with our node first on PATH for the bin's shebang. */
function npmEnv(): NodeJS.ProcessEnv {
  const env = serverEnv();
  for (const name of Object.keys(env)) if (name.toLowerCase().startsWith('npm_')) delete env[name];
  env.PATH = `${dirname(process.execPath)}${delimiter}${env.PATH ?? ''}`;
  env.npm_config_update_notifier = 'false';
  return env;
}

interface PackResult {
  filename: string;
  files: Array<{ path: string }>;
}

let work = '';
let tarball = '';
let packed: PackResult;
let prefix = '';
let installedBin = '';

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` before the e2e tests');
  work = mkdtempSync(join(tmpdir(), 'peer-signal-pack-'));
  const destination = join(work, 'pack');
  prefix = join(work, 'prefix');
  mkdirSync(destination);
  mkdirSync(prefix);
  const env = npmEnv();
  // --ignore-scripts: prepack would rebuild dist/ (tsup cleans it) under the other e2e files running in parallel.
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', destination], {
    cwd: ROOT,
    env,
    timeout: NPM_TIMEOUT_MS,
  });
  const results = JSON.parse(stdout) as PackResult[];
  expect(results).toHaveLength(1);
  packed = results[0]!;
  tarball = join(destination, packed.filename);
  await run('npm', ['install', '-g', '--prefix', prefix, tarball, '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd: work,
    env,
    timeout: NPM_TIMEOUT_MS,
  });
  installedBin = join(prefix, 'bin', 'peer-signal');
}, 60_000);

afterEach(cleanup);
afterAll(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

describe('npm package', () => {
  it('holds only bin/, dist/, package.json, README.md, SECURITY.md and LICENSE', async () => {
    const paths = packed.files.map((file) => file.path);
    const unexpected = paths.filter((path) => !path.startsWith('bin/') && !path.startsWith('dist/') && !ALLOWED_TOP_LEVEL.has(path));
    expect(unexpected).toEqual([]);
    expect(paths).toEqual(expect.arrayContaining(['package.json', 'bin/peer-signal.js', 'dist/cli.js', 'dist/index.js', 'dist/index.d.ts']));
    // The tarball itself agrees with npm's report.
    const { stdout } = await run('tar', ['-tzf', tarball], { timeout: NPM_TIMEOUT_MS });
    const entries = stdout
      .split('\n')
      .filter((line) => line.length > 0 && !line.endsWith('/'))
      .map((line) => line.replace(/^package\//, ''));
    expect(entries.sort()).toEqual([...paths].sort());
  }, 60_000);

  it("the tarball's package.json has no runtime dependencies", async () => {
    const extracted = join(work, 'extracted');
    mkdirSync(extracted, { recursive: true });
    await run('tar', ['-xzf', tarball, '-C', extracted, 'package/package.json'], { timeout: NPM_TIMEOUT_MS });
    const manifest = JSON.parse(readFileSync(join(extracted, 'package/package.json'), 'utf8')) as Record<string, unknown>;
    for (const field of ['dependencies', 'optionalDependencies', 'bundleDependencies', 'bundledDependencies']) {
      const value = manifest[field];
      expect(value === undefined || Object.keys(value as object).length === 0, `${field}: ${JSON.stringify(value)}`).toBe(true);
    }
    // express is a peer only for ExpressPeerServer/PeerServer, and optional: npm never installs it for us.
    const peers = Object.keys((manifest.peerDependencies ?? {}) as object);
    const optional = (manifest.peerDependenciesMeta ?? {}) as Record<string, { optional?: boolean }>;
    expect(peers.filter((name) => optional[name]?.optional !== true)).toEqual([]);
    expect(manifest).toMatchObject({ name: 'peer-signal', version: VERSION, type: 'module', bin: { 'peer-signal': 'bin/peer-signal.js' } });
    // Nothing was installed next to it.
    expect(existsSync(join(prefix, 'lib/node_modules/peer-signal/node_modules'))).toBe(false);
  }, 60_000);

  it('the installed bin prints the version', async () => {
    const result = await runCli(['--version'], { exec: [installedBin], fullEnv: npmEnv(), cwd: work }, 10_000);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`${VERSION}\n`);
  }, 60_000);

  it('the installed bin serves /health, and its health command agrees', async () => {
    const server = spawnCli(['--port', '0', '--host', '127.0.0.1'], { exec: [installedBin], fullEnv: npmEnv(), cwd: work });
    const { url, port } = await readListening(server);
    expect(port).toBeGreaterThan(0);
    const answer = await httpGet(`${url}/health`);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 'ok', version: VERSION });
    const health = await runCli(['health', '--url', url], { exec: [installedBin], fullEnv: npmEnv(), cwd: work }, 10_000);
    expect(health.code, health.stderr).toBe(0);
  }, 60_000);
});
