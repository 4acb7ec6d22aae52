// Starts a browser driver for a suite, inside a network namespace whose only interface is lo, and stops it afterwards.
import { spawn, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { IN_NAMESPACE } from '../../support/prerequisites.js';
import { DriverRun, type DriverRecordBase } from './driver-run.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

export interface DriverOptions {
  /** How long the driver may take to print its ready record. */
  readyMs: number;
  /** How long stop() waits after SIGTERM before killing the driver's process group. */
  stopMs: number;
  /** Built files the driver needs (default: the CLI). */
  built?: readonly string[];
  /** Variables for the driver on top of this process's environment (read when the driver starts). */
  env?: () => Record<string, string>;
  /**
   * The command line that runs `node driverFile` (read when the driver starts); by default `unshare` runs it in a fresh
   * namespace with only lo, exec'd so that the child's pid is the driver's.
   */
  command?: (node: readonly string[]) => readonly string[];
}

/**
 * Registers the hooks of a suite (call it inside `describe`): beforeAll starts the driver, detached so that it leads the
 * process group stop() may kill, and waits for its ready record; afterAll stops it. Returns the running driver, for the
 * tests. Hooks registered before this call run before the driver starts, and (after hooks running in reverse) after it stopped.
 */
export function useDriver<R extends DriverRecordBase>(driverFile: string, label: string, options: DriverOptions): () => DriverRun<R> {
  let driver: DriverRun<R> | undefined;
  beforeAll(async () => {
    const missing = (options.built ?? ['dist/cli.js', 'bin/peer-signal.js']).find((built) => !existsSync(`${root}${built}`));
    if (missing !== undefined) throw new Error(`${missing} is missing; run npm run build first (npm test does it)`);
    const node = [process.execPath, driverFile];
    const [file, ...args] = options.command?.(node) ?? ['unshare', ...IN_NAMESPACE, ...node];
    const env = { ...process.env, NO_COLOR: '1', ...options.env?.() };
    const spawnOptions: SpawnOptions = { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env };
    driver = new DriverRun<R>(spawn(file!, args, spawnOptions), label, options.stopMs);
    await driver.wait('ready', options.readyMs);
  }, options.readyMs + 5000);
  afterAll(() => driver?.stop(), options.stopMs + 5000);
  return () => {
    if (driver === undefined) throw new Error(`the ${label} did not start`);
    return driver;
  };
}
