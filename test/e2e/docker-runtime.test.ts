// The Dockerfile's runtime stage without a Docker engine: lay out exactly what its COPY lines copy, run its ENTRYPOINT and HEALTHCHECK.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix, relative } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_TIMEOUT_MS, ROOT, serverEnv, cleanup, httpGet, readListening, runCli, spawnCli } from './helpers.js';

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages of instructions, joining `\` continuations and dropping comments. */
function parseDockerfile(text: string): Stage[] {
  const instructions: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue; // comment lines inside a continuation are ignored by Docker too
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = pending + line;
    pending = '';
    const match = /^(\S+)\s*(.*)$/.exec(full);
    if (match !== null) instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]! });
  }
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [image, as, name] = instruction.args.split(/\s+/).filter((part) => !part.startsWith('--'));
      stages.push({ image: image!, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (stages.length > 0) {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return stages;
}

function execForm(args: string, what: string): string[] {
  expect(args.trim().startsWith('['), `${what} should use the exec (JSON array) form: ${args}`).toBe(true);
  const parsed = JSON.parse(args) as unknown;
  expect(Array.isArray(parsed) && parsed.every((item) => typeof item === 'string'), `${what}: ${args}`).toBe(true);
  return parsed as string[];
}

/** `ENV A=1 B="two words"` (and the legacy `ENV A 1`) as a map. */
function parseEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of stage.instructions.filter((instruction) => instruction.keyword === 'ENV')) {
    if (!/^\S+=/.test(args)) {
      const [name, ...value] = args.split(/\s+/);
      env[name!] = value.join(' ');
      continue;
    }
    for (const match of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("((?:[^"\\]|\\.)*)"|\S*)/g)) {
      env[match[1]!] = match[3] !== undefined ? match[3].replace(/\\(.)/g, '$1') : match[2]!;
    }
  }
  return env;
}

function workdir(stage: Stage): string {
  const dirs = stage.instructions.filter((instruction) => instruction.keyword === 'WORKDIR').map((instruction) => instruction.args.trim());
  expect(dirs.length, `stage ${stage.name ?? stage.image} should set WORKDIR`).toBeGreaterThan(0);
  return dirs.at(-1)!;
}

interface Copy {
  from: string | undefined;
  sources: string[];
  destination: string;
}

function parseCopies(stage: Stage): Copy[] {
  return stage.instructions
    .filter((instruction) => instruction.keyword === 'COPY' || instruction.keyword === 'ADD')
    .map((instruction) => {
      expect(instruction.keyword, 'the runtime stage should COPY, not ADD').toBe('COPY');
      const tokens = instruction.args.split(/\s+/).filter(Boolean);
      const flags = tokens.filter((token) => token.startsWith('--'));
      const paths = tokens.filter((token) => !token.startsWith('--'));
      const from = flags.find((flag) => flag.startsWith('--from='))?.slice('--from='.length);
      return { from, sources: paths.slice(0, -1), destination: paths.at(-1)! };
    });
}

/** Every file under `dir`, as paths relative to it. */
function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((path) => statSync(join(dir, path)).isFile())
    .map((path) => path.split('\\').join('/'))
    .sort();
}

/** Module specifiers an ESM file imports: static imports, re-exports, side-effect imports and literal dynamic imports. */
function importedSpecifiers(code: string): string[] {
  const patterns = [
    /(?:^|\n)\s*(?:import|export)\s[^;]*?\bfrom\s*["']([^"']+)["']/g,
    /(?:^|\n)\s*import\s*["']([^"']+)["']/g,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...code.matchAll(pattern)].map((match) => match[1]!));
}

const BUILTINS = new Set(builtinModules);

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfile);
const runtime = stages.at(-1)!;
const runtimeEnv = parseEnv(runtime);
const entrypoint = execForm(runtime.instructions.find((instruction) => instruction.keyword === 'ENTRYPOINT')?.args ?? '[]', 'ENTRYPOINT');
const healthcheck = runtime.instructions.find((instruction) => instruction.keyword === 'HEALTHCHECK')?.args ?? '';
const healthcheckCommand = execForm(/\bCMD\s+(.*)$/.exec(healthcheck)?.[1] ?? '[]', 'HEALTHCHECK CMD');
const healthcheckTimeoutMs = (() => {
  const seconds = /--timeout=(\d+)s\b/.exec(healthcheck)?.[1];
  return seconds === undefined ? 30_000 : Number(seconds) * 1000;
})();

describe('Dockerfile', () => {
  it('is multi-stage: a build stage running npm ci and npm run build, then a node:alpine runtime', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stages[0]!;
    expect(build.image).toMatch(/^node:(20|22)-alpine$/);
    const buildRuns = build.instructions.filter((instruction) => instruction.keyword === 'RUN').map((instruction) => instruction.args);
    expect(buildRuns.join(' && ')).toMatch(/npm ci\b[\s\S]*npm run build\b/);
    expect(runtime.image).toMatch(/^node:(20|22)-alpine$/);
    // The bundle has no dependencies: the runtime stage installs nothing.
    expect(runtime.instructions.filter((instruction) => instruction.keyword === 'RUN')).toEqual([]);
  });

  it('runs as a non-root user, exposes 9000, listens on all interfaces, and checks health with our CLI', () => {
    const users = runtime.instructions.filter((instruction) => instruction.keyword === 'USER').map((instruction) => instruction.args.trim());
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)!.split(':')[0]).not.toMatch(/^(root|0)$/);
    const exposed = runtime.instructions
      .filter((instruction) => instruction.keyword === 'EXPOSE')
      .flatMap((instruction) => instruction.args.split(/\s+/));
    expect(exposed).toContain('9000');
    expect(runtimeEnv).toMatchObject({ HOST: '0.0.0.0', PORT: '9000', NODE_ENV: 'production' });
    expect(healthcheck).toMatch(/--interval=30s/);
    expect(healthcheck).toMatch(/--timeout=3s/);
    expect(healthcheck).toMatch(/--start-period=5s/);
    expect(healthcheckCommand).toEqual(['node', '/app/bin/peer-signal.js', 'health']);
    expect(entrypoint).toEqual(['node', '/app/bin/peer-signal.js']);
    expect(workdir(runtime)).toBe('/app');
  });

  it('.dockerignore keeps node_modules, dist and .git out of the context but not what the build needs', () => {
    const patterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => line.replace(/^\/+|\/+$/g, '').replace(/^\*\*\//, ''));
    expect(patterns).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git']));
    for (const needed of ['package.json', 'package-lock.json', 'src', 'bin', 'tsup.config.ts', 'tsconfig.json', '*', '**']) {
      expect(patterns, `.dockerignore must not exclude ${needed}`).not.toContain(needed);
    }
  });
});

describe('runtime stage, laid out from the COPY lines and run without Docker', () => {
  // `root` plays the container's filesystem root; under os.tmpdir() no node_modules of the repo is reachable.
  let root = '';
  let app = '';

  /** A container path (`/app/bin/peer-signal.js`) as a path under `root`. */
  const inContainer = (path: string): string => join(root, path);
  /** The Dockerfile's exec form with `node` and absolute container paths mapped onto this machine. */
  const localCommand = (command: string[]): string[] =>
    command.map((part, index) => {
      if (index === 0 && part === 'node') return process.execPath;
      return part.startsWith('/') && existsSync(inContainer(part)) ? inContainer(part) : part;
    });
  /** The image's ENV with `overrides`, over a clean environment without NODE_PATH. */
  const containerEnv = (overrides: Record<string, string>): NodeJS.ProcessEnv => serverEnv({ ...runtimeEnv, NODE_PATH: undefined, ...overrides });

  beforeAll(() => {
    if (!existsSync(join(ROOT, 'dist/cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` before the e2e tests');
    root = mkdtempSync(join(tmpdir(), 'peer-signal-image-'));
    app = inContainer(workdir(runtime));
    mkdirSync(app, { recursive: true });
    const buildStages = new Map(stages.slice(0, -1).map((stage) => [stage.name ?? '', stage]));
    for (const copy of parseCopies(runtime)) {
      const source = copy.from === undefined ? undefined : buildStages.get(copy.from);
      expect(source, `COPY should come from a named build stage: ${JSON.stringify(copy)}`).toBeDefined();
      // The build stage runs `COPY . .` into its WORKDIR, then builds there: its WORKDIR is the repo root.
      const buildDir = workdir(source!);
      const destination = posix.resolve(workdir(runtime), copy.destination);
      for (const sourcePath of copy.sources) {
        const inRepo = join(ROOT, posix.relative(buildDir, posix.resolve(buildDir, sourcePath)));
        expect(relative(ROOT, inRepo).startsWith('..'), `COPY source outside the build dir: ${sourcePath}`).toBe(false);
        expect(existsSync(inRepo), `COPY source ${sourcePath} is not in the build output (${inRepo})`).toBe(true);
        const target = inContainer(destination);
        if (statSync(inRepo).isDirectory()) {
          cpSync(inRepo, target, { recursive: true });
        } else {
          const file = copy.destination.endsWith('/') ? join(target, basename(inRepo)) : target;
          mkdirSync(dirname(file), { recursive: true });
          cpSync(inRepo, file);
        }
      }
    }
  });
  afterEach(cleanup);
  afterAll(() => {
    if (root !== '') rmSync(root, { recursive: true, force: true });
  });

  it('copies only package.json, the bin shim and the build output, with no node_modules reachable', () => {
    const expected = [
      'app/package.json',
      ...listFiles(join(ROOT, 'bin')).map((path) => `app/bin/${path}`),
      ...listFiles(join(ROOT, 'dist')).map((path) => `app/dist/${path}`),
    ];
    const copied = listFiles(root);
    expect(copied).toContain('app/dist/cli.js');
    // Nothing beyond those: a runtime file from outside bin/ and dist/ would mean the image carries sources or tooling.
    expect(copied.filter((path) => !expected.includes(path))).toEqual([]);
    for (let dir = app; ; dir = dirname(dir)) {
      expect(existsSync(join(dir, 'node_modules')), `${join(dir, 'node_modules')} would let the bundle resolve packages`).toBe(false);
      if (dirname(dir) === dir) break;
    }
  });

  it('every module the entrypoint can load, including lazily imported chunks, is in the image', () => {
    const seen = new Set<string>();
    const missing: string[] = [];
    const bare: string[] = [];
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const specifier of importedSpecifiers(readFileSync(file, 'utf8'))) {
        if (specifier.startsWith('./') || specifier.startsWith('../')) {
          const target = join(dirname(file), specifier);
          if (existsSync(target)) visit(target);
          else missing.push(`${relative(root, file)} imports ${specifier}`);
        } else if (!BUILTINS.has(specifier.replace(/^node:/, ''))) {
          bare.push(`${relative(root, file)} imports ${specifier}`);
        }
      }
    };
    visit(inContainer(entrypoint[1]!));
    expect(seen.size).toBeGreaterThan(1);
    expect(missing, 'modules the image lacks').toEqual([]);
    // Without node_modules in the image, only Node built-ins can be imported by name.
    expect(bare, 'packages the image cannot resolve').toEqual([]);
  });

  it('ENTRYPOINT serves, HEALTHCHECK reports healthy within its timeout, and a stopped server is unhealthy', async () => {
    const server = spawnCli([], {
      exec: localCommand(entrypoint),
      fullEnv: containerEnv({ PORT: '0', HOST: '127.0.0.1' }),
      cwd: app,
    });
    const { url, port } = await readListening(server);
    expect(url).toBe(`http://127.0.0.1:${port}/peerjs`);
    expect((await httpGet(`${url}/health`)).status).toBe(200);

    // The container's own env (HOST=0.0.0.0) with the bound port: health maps 0.0.0.0 to 127.0.0.1.
    const [file, ...args] = localCommand(healthcheckCommand);
    const check = await runCli(args, { exec: [file!], fullEnv: containerEnv({ PORT: String(port) }), cwd: app }, EXIT_TIMEOUT_MS);
    expect(check.code, check.stderr).toBe(0);
    expect(check.durationMs).toBeLessThan(healthcheckTimeoutMs);

    // `docker stop` sends SIGTERM to the ENTRYPOINT process.
    server.signal('SIGTERM');
    const stopped = await server.waitForExit(EXIT_TIMEOUT_MS + 1000);
    expect(stopped.code).toBe(0);

    const unhealthy = await runCli(args, { exec: [file!], fullEnv: containerEnv({ PORT: String(port) }), cwd: app }, EXIT_TIMEOUT_MS);
    // Docker reserves exit code 2 for health checks: anything unhealthy is 1.
    expect(unhealthy.code).toBe(1);
  });
});
