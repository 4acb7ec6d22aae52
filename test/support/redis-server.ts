// A throwaway redis-server on a free loopback port for the cluster tests: start, wait for PING, stop/kill/restart by PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect as netConnect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { describe, it } from 'vitest';
import { probe } from './prerequisites.js';

/** The binary; the Debian package puts it on PATH as /usr/bin/redis-server. */
export const REDIS_SERVER = process.env.PEER_SIGNAL_TEST_REDIS_SERVER ?? 'redis-server';
/** How long a fresh redis-server may take to answer PING on a busy 2-core machine. */
const READY_MS = 10_000;
const STOP_MS = 5_000;
/** Attempts with a fresh port when the one we picked was taken between probing and binding. */
const BIND_ATTEMPTS = 5;

export interface RedisServer {
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** PID of the current process, or undefined while stopped. */
  readonly pid: number | undefined;
  /** SIGTERM by PID and wait for the exit (SIGKILL after a deadline). Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL by PID and wait for the exit. Idempotent. */
  kill(): Promise<void>;
  /** Starts a fresh, empty redis-server on the SAME port (after stop/kill) and waits for PING. */
  restart(): Promise<void>;
}

/** Why redis-server cannot be used here, or undefined when it can. */
function findRedisMissing(): string | undefined {
  const probe = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8', timeout: 5000 });
  if (probe.error !== undefined) return `${REDIS_SERVER} not found (${probe.error.message}); install it with: apt-get install redis-server`;
  if (probe.status !== 0) return `${REDIS_SERVER} --version failed (exit ${probe.status}); install it with: apt-get install redis-server`;
  return undefined;
}

/** Computed once per test file; PEER_SIGNAL_TEST_WITHOUT=redis-server pretends it is missing. */
export const redisMissing: string | undefined = probe('redis-server', findRedisMissing);
const inCi = process.env.CI === 'true';

/**
 * True when the cluster tests must be skipped (redis-server missing, not in CI); prints a notice then, and registers a
 * skipped test carrying the reason for the run's skip summary (the suite's own tests, skipped with describe.skipIf, carry
 * none). With CI=true a missing redis-server registers a failing test instead, and this returns true so the real suite
 * (which cannot run) is skipped.
 */
export function skipWithoutRedis(suite: string): boolean {
  if (redisMissing === undefined) return false;
  if (inCi) {
    describe(`${suite}: prerequisites`, () => {
      it('finds redis-server (CI=true turns the skip into a failure)', () => {
        throw new Error(`${redisMissing}; CI=true forbids skipping the cluster tests`);
      });
    });
  } else {
    console.warn(`skipping ${suite}: ${redisMissing}`);
    describe(`${suite}: prerequisites`, () => {
      it('finds redis-server', { skip: true, meta: { skipReason: `${suite}: ${redisMissing}` } }, () => {});
    });
  }
  return true;
}

/** A port nothing listens on right now (the OS picks it; we close and hand it over). */
export async function findFreePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The kernel's range for port-0 binds and outgoing connections (Linux), or the IANA default elsewhere. */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && high !== undefined && low > 0 && high >= low) return [low, high];
  } catch {
    // not Linux
  }
  return [49152, 65535];
}

/**
 * A port that nothing listens on and that no port-0 bind in a parallel test can be handed: picked at random
 * below the ephemeral range and checked free. For URLs that must stay unreachable ("Redis is down").
 */
export async function findClosedPort(): Promise<number> {
  const [low] = ephemeralRange();
  const floor = Math.min(20_000, low - 1000);
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = floor + Math.floor(Math.random() * (low - floor));
    const server = createNetServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (free) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      return port;
    }
  }
  throw new Error('found no free port below the ephemeral range in 20 attempts');
}

/** One PING round trip over a raw socket; resolves true on +PONG, false on anything else. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    let answer = '';
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), 1000);
    socket.on('error', () => finish(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      if (answer.includes('\r\n')) finish(answer.startsWith('+PONG'));
    });
  });
}

/** A redis-server process started by spawnRedis, with the tail of its output. */
export interface Running {
  child: ChildProcess;
  exited: Promise<void>;
  output: string[];
}

/** Starts redis-server on 127.0.0.1:`port` without persistence; `extra` adds arguments (e.g. cluster mode). */
export function spawnRedis(port: number, extra: readonly string[] = [], cwd?: string): Running {
  const child = spawn(
    REDIS_SERVER,
    [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning',
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd },
  );
  const output: string[] = [];
  const keep = (chunk: Buffer): void => {
    output.push(chunk.toString());
    if (output.length > 50) output.shift();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.on('error', (error) => output.push(`spawn error: ${error.message}`));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return { child, exited, output };
}

/** Polls PING until it answers, the process exits, or the deadline passes (then it is killed and this throws). Resolves true once ready. */
export async function waitReady(running: Running, port: number): Promise<boolean> {
  const deadline = Date.now() + READY_MS;
  let exited = false;
  void running.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) return false;
    if (await ping(port)) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  // Not left running behind the failure: stopped by its PID first.
  await signalAndWait(running, 'SIGKILL');
  throw new Error(`redis-server on port ${port} did not answer PING within ${READY_MS} ms; output: ${running.output.join('')}`);
}

/** Sends `signal` by PID and waits for the exit (SIGKILL after a deadline). */
export async function signalAndWait(running: Running | undefined, signal: NodeJS.Signals): Promise<void> {
  if (running === undefined) return;
  const { child } = running;
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    try {
      process.kill(child.pid, signal);
    } catch {
      // already gone
    }
  }
  let timer: NodeJS.Timeout | undefined;
  const late = await Promise.race([
    running.exited.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), STOP_MS);
    }),
  ]);
  clearTimeout(timer);
  if (late && child.pid !== undefined) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await running.exited;
  }
}

/** Starts an empty, non-persistent redis-server on a free 127.0.0.1 port and waits until it answers PING. */
export async function startRedis(): Promise<RedisServer> {
  if (redisMissing !== undefined) throw new Error(redisMissing);
  let running: Running | undefined;
  let port = 0;
  const failures: string[] = [];
  for (let attempt = 0; attempt < BIND_ATTEMPTS && running === undefined; attempt++) {
    port = await findFreePort();
    const candidate = spawnRedis(port);
    if (await waitReady(candidate, port)) running = candidate;
    else failures.push(`port ${port}: ${candidate.output.join('').trim() || 'exited'}`);
  }
  if (running === undefined) throw new Error(`redis-server would not start: ${failures.join('; ')}`);

  const url = `redis://127.0.0.1:${port}`;
  return {
    url,
    port,
    get pid() {
      return running?.child.pid;
    },
    async stop() {
      await signalAndWait(running, 'SIGTERM');
      running = undefined;
    },
    async kill() {
      await signalAndWait(running, 'SIGKILL');
      running = undefined;
    },
    async restart() {
      await signalAndWait(running, 'SIGKILL');
      running = undefined;
      const attempts: string[] = [];
      // Same port: the clients under test reconnect to this URL. A bind can fail briefly while the old socket goes away.
      for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
        const candidate = spawnRedis(port);
        if (await waitReady(candidate, port)) {
          running = candidate;
          return;
        }
        attempts.push(candidate.output.join('').trim() || 'exited');
        // A pause between bind attempts (not a synchronisation point): give the old listener time to go.
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`redis-server would not restart on port ${port}: ${attempts.join('; ')}`);
    },
  };
}
