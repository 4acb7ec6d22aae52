// End-to-end tests of serve's --ready-file: written whole once listening (the --json listening line), removed on shutdown.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  START_TIMEOUT_MS,
  cleanup,
  freedPort,
  portAccepts,
  readListening,
  spawnCli,
  stderrLines,
  within,
  type CliProcess,
  type HookContext,
} from './helpers.js';

const dirs: string[] = [];
const watchers: FSWatcher[] = [];

afterEach(async (context: HookContext) => {
  await cleanup(context);
  for (const watcher of watchers.splice(0)) watcher.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'peer-signal-ready-'));
  dirs.push(dir);
  return dir;
}

/** What fs.watch sees in `dir`: [event type, file name] (inotify on Linux: `change` is a write to the file itself). */
function watchDir(dir: string): { events: Array<[string, string | null]>; until(test: () => boolean): Promise<void> } {
  const events: Array<[string, string | null]> = [];
  const listeners = new Set<() => void>();
  watchers.push(
    watch(dir, (type, name) => {
      events.push([type, name]);
      for (const listener of [...listeners]) listener();
    }),
  );
  const until = (test: () => boolean): Promise<void> => {
    const reached = new Promise<void>((resolve) => {
      const check = (): void => {
        if (!test()) return;
        listeners.delete(check);
        resolve();
      };
      listeners.add(check);
      check();
    });
    return within(reached, START_TIMEOUT_MS, `waiting for fs events in ${dir}; so far ${JSON.stringify(events)}`);
  };
  return { events, until };
}

/**
 * Reads `file` over and over while `server` starts, until it parses: every read must find no file
 * or the whole JSON document, never a part of it. Bounded by the start timeout.
 */
async function readWhenWhole(file: string, server: CliProcess): Promise<unknown> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (let reads = 1; ; reads++) {
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (text !== undefined) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new Error(`read ${reads} found a partial ready file: ${JSON.stringify(text)}`);
      }
    }
    if (!server.running) throw new Error(`the server exited before writing the ready file\nstderr: ${server.stderr}`);
    if (Date.now() > deadline) throw new Error(`no ready file within ${START_TIMEOUT_MS} ms\nstderr: ${server.stderr}`);
  }
}

describe('serve --ready-file', () => {
  it.each([
    ['--ready-file, stopped by SIGTERM', (file: string) => [['--ready-file', file], {}] as const, 'SIGTERM'],
    ['PEER_SIGNAL_READY_FILE, stopped by SIGINT', (file: string) => [[], { PEER_SIGNAL_READY_FILE: file }] as const, 'SIGINT'],
  ] as const)('%s: appears whole with the --json listening line’s object, and is removed on shutdown', async (_name, given, signal) => {
    const dir = tempDir();
    const file = join(dir, 'ready.json');
    const [flags, env] = given(file);
    const seen = watchDir(dir);
    const server = spawnCli([...flags, '--port', '0', '--host', '127.0.0.1', '--json'], { env });
    const document = await readWhenWhole(file, server);
    const listening = await readListening(server);
    expect(document).toEqual(JSON.parse(listening.line));
    expect(document).toMatchObject({ event: 'listening', url: listening.url, port: listening.port });
    // Nothing left beside it (the temporary file it was renamed from).
    expect(readdirSync(dir)).toEqual(['ready.json']);

    server.signal(signal);
    const result = await server.waitForExit();
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
    // The ready file only ever appeared by a rename and went by a delete: never written in place
    // (inotify reports a write to the file itself as `change`; other platforms' watchers differ).
    if (process.platform === 'linux') {
      const named = (): string[] => seen.events.filter(([, name]) => name === 'ready.json').map(([type]) => type);
      await seen.until(() => named().length >= 2);
      expect(named()).not.toContain('change');
    }
  });

  it.each([
    ['--ready-file in a missing directory', (dir: string) => [['--ready-file', join(dir, 'missing', 'ready.json')], {}] as const, /ENOENT.*--ready-file/],
    ['PEER_SIGNAL_READY_FILE in a missing directory', (dir: string) => [[], { PEER_SIGNAL_READY_FILE: join(dir, 'missing', 'ready.json') }] as const, /ENOENT.*PEER_SIGNAL_READY_FILE/],
    ['--ready-file naming a directory', (dir: string) => [['--ready-file', join(dir, 'taken')], {}] as const, /EISDIR/],
  ] as const)('%s: one error line, exit 1, no listening line, nothing left running or behind', async (_name, given, reason) => {
    const dir = tempDir();
    mkdirSync(join(dir, 'taken'));
    const [flags, env] = given(dir);
    const port = await freedPort();
    const result = await spawnCli([...flags, '--port', String(port), '--host', '127.0.0.1', '--json'], { env }).waitForExit(START_TIMEOUT_MS);
    expect(result.code).toBe(1);
    expect(stderrLines(result)).toEqual([expect.stringMatching(/^error: cannot write the ready file /)]);
    expect(result.stderr).toMatch(reason);
    expect(result.stdout).toBe('');
    expect(await portAccepts(port)).toBe(false);
    expect(readdirSync(dir)).toEqual(['taken']);
  });
});
