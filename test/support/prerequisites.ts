// What a suite needs from the machine, and the one rule for when it is missing: a warning and a skip locally, a failure with CI=true.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it, type TestContext } from 'vitest';
import { CHROMIUM } from './chromium.mjs';

declare module 'vitest' {
  interface TaskMeta {
    /** Why the test was skipped: what the machine lacks, for the run's skip summary (test/support/skip-summary.ts). */
    skipReason?: string;
  }
}

const inCi = process.env.CI === 'true';

/**
 * Prerequisites to treat as missing although they are installed, comma-separated (`PEER_SIGNAL_TEST_WITHOUT=unshare`):
 * shows what a machine without them does, CI=true included, without uninstalling anything.
 */
const pretendMissing = new Set(
  (process.env.PEER_SIGNAL_TEST_WITHOUT ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== ''),
);

/** Why `name` cannot be used here (the probe's answer), or undefined when it can; PEER_SIGNAL_TEST_WITHOUT overrides the probe. */
export function probe(name: string, check: () => string | undefined): string | undefined {
  if (pretendMissing.has(name)) return `${name} is missing (PEER_SIGNAL_TEST_WITHOUT=${[...pretendMissing].join(',')} says so)`;
  return check();
}

/** The browser binary the tests launch. */
export function chromiumProblem(): string | undefined {
  return probe('chromium', () =>
    existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found; install it with: apt-get install chromium (or point PEER_SIGNAL_E2E_CHROMIUM at one)`,
  );
}

/** unshare's arguments: a new network namespace, lo up, then exec the rest (one process: its pid is the command's). */
export const IN_NAMESPACE = Object.freeze(['-n', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh']);

/** A private network namespace with only lo: `unshare -n` (util-linux), `ip` (iproute2), and the privilege to use them. */
export function namespaceProblem(): string | undefined {
  const unshare = probe('unshare', () => {
    const found = spawnSync('unshare', ['--version'], { encoding: 'utf8', timeout: 5000 });
    return found.error === undefined ? undefined : `unshare not found (${found.error.message}); install it with: apt-get install util-linux`;
  });
  if (unshare !== undefined) return unshare;
  const ip = probe('ip', () => {
    const found = spawnSync('ip', ['-V'], { encoding: 'utf8', timeout: 5000 });
    return found.error === undefined ? undefined : `ip not found (${found.error.message}); install it with: apt-get install iproute2`;
  });
  if (ip !== undefined) return ip;
  return probe('namespaces', () => {
    const run = spawnSync('unshare', [...IN_NAMESPACE, 'true'], { encoding: 'utf8', timeout: 5000 });
    if (run.status === 0) return undefined;
    return (
      `unshare -n failed (${run.error?.message ?? (run.stderr.trim() || `exit ${run.status}`)}); the tests that need a private network ` +
      'namespace must run as root (or with CAP_SYS_ADMIN and CAP_NET_ADMIN)'
    );
  });
}

/** What every browser test needs: Chromium, and a loopback-only namespace to run it in. */
export function browserProblems(): Array<string | undefined> {
  return [chromiumProblem(), namespaceProblem()];
}

/** openssl, for certificates and for checking HMACs with a program that shares no code with ours. */
export function opensslProblem(): string | undefined {
  return probe('openssl', () =>
    spawnSync('openssl', ['version'], { timeout: 5000 }).status === 0 ? undefined : 'openssl not found; install it with: apt-get install openssl',
  );
}

/** strace, which injects a syscall failure into one process (a host without IPv6). */
export function straceProblem(): string | undefined {
  return probe('strace', () =>
    spawnSync('strace', ['-V'], { stdio: 'ignore', timeout: 5000 }).status === 0 ? undefined : 'strace not found; install it with: apt-get install strace',
  );
}

/** util-linux `script` (a pseudo-terminal for a command) and coreutils `timeout`. */
export function terminalProblem(): string | undefined {
  return probe('script', () => {
    if (spawnSync('script', ['-qec', 'true', '/dev/null'], { stdio: 'ignore', timeout: 5000 }).status !== 0) {
      return 'script (a pseudo-terminal for the terminal tests) does not run; install it with: apt-get install util-linux';
    }
    if (spawnSync('timeout', ['1', 'true'], { stdio: 'ignore', timeout: 5000 }).status !== 0) {
      return 'timeout not found; install it with: apt-get install coreutils';
    }
    return undefined;
  });
}

/** Who asked to skip, and what for: the suite's name in messages. */
export interface Requirement {
  /** True when the suite cannot run here (it is skipped; with CI=true a failing test says why). */
  readonly missing: boolean;
  /** What is missing, one sentence per prerequisite; undefined when nothing is. */
  readonly reason: string | undefined;
  /** vitest's describe, skipped (with the reason in each test's meta) when something is missing. */
  describe(name: string, factory: () => void): void;
  /** vitest's it, skipped (with the reason in its meta) when something is missing. */
  it(name: string, fn: (context: TestContext) => unknown, timeout?: number): void;
}

/**
 * The one rule for tests that need something from the machine. `problems` are the probes' answers (undefined: present).
 * When all are present, `describe` and `it` are vitest's. Otherwise the tests are skipped, each carrying the reason for the
 * run's skip summary; locally a warning says what to install, and with CI=true (where nothing may be skipped) a failing
 * test says it instead. Call at the top level of a test file.
 */
export function requires(suite: string, ...problems: Array<string | undefined>): Requirement {
  const found = problems.filter((problem): problem is string => problem !== undefined);
  const reason = found.length === 0 ? undefined : `${suite}: ${found.join('; ')}`;
  if (reason !== undefined) {
    if (inCi) {
      describe(`${suite}: prerequisites`, () => {
        it('are installed (CI=true turns a skip into a failure)', () => {
          throw new Error(`${reason}; CI=true forbids skipping tests`);
        });
      });
    } else {
      console.warn(`skipping ${reason}`);
    }
  }
  const options = reason === undefined ? {} : { skip: true, meta: { skipReason: reason } };
  return {
    missing: reason !== undefined,
    reason,
    describe: (name, factory) => describe(name, options, factory),
    it: (name, fn, timeout) => it(name, { ...options, timeout }, fn),
  };
}

/**
 * For a prerequisite only a running test can check (an address the machine may lack): skips the rest of the test with
 * `problem` as the note, or with CI=true fails it. Does nothing when `problem` is undefined.
 */
export function skipUnless(context: TestContext, problem: string | undefined): void {
  if (problem === undefined) return;
  if (inCi) throw new Error(`${problem}; CI=true forbids skipping tests`);
  context.skip(problem);
}
