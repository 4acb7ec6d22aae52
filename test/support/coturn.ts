// A throwaway coturn (Debian `coturn`) on loopback for the TURN tests: start, wait for a STUN answer, allocate with turnutils_uclient, stop by PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probe } from './prerequisites.js';
import { findFreePort } from './redis-server.js';

/** The binaries; the Debian package puts them on PATH. */
export const TURNSERVER = process.env.PEER_SIGNAL_TEST_TURNSERVER ?? 'turnserver';
const UCLIENT = 'turnutils_uclient';
const STUNCLIENT = 'turnutils_stunclient';
/** How long a fresh coturn may take to answer a STUN binding request on a busy 2-core machine. */
const READY_MS = 15_000;
/** turnutils_stunclient waits for an answer for ever: each probe gets this long. */
const PROBE_MS = 1_000;
/** turnutils_uclient sends a handful of packets 20 ms apart; a refusal comes back within milliseconds. */
const UCLIENT_MS = 15_000;
const STOP_MS = 5_000;
/** The realm coturn announces in its 401 challenges; the REST-API credential does not depend on it. */
export const TEST_REALM = 'peer-signal.test';

/** Why coturn cannot be used here, or undefined when it can (for {@link requires}). */
export function coturnProblem(): string | undefined {
  return probe('coturn', () => {
    for (const binary of [TURNSERVER, UCLIENT, STUNCLIENT]) {
      // turnserver and the turnutils print their usage and exit non-zero for --help: only a failed spawn means absent.
      const found = spawnSync(binary, ['--help'], { encoding: 'utf8', timeout: 5000 });
      if (found.error !== undefined) {
        return `${binary} not found (${found.error.message}); install coturn with: apt-get install --no-install-recommends coturn`;
      }
    }
    return undefined;
  });
}

export interface CoturnOptions {
  /** coturn's static-auth-secret. */
  secret: string;
  /**
   * Run coturn in a network namespace of its own with only lo (unshare -n; needs root), where its fixed
   * port 3478 cannot meet anything else; `inNetwork` then runs other programs (the browser driver) beside it.
   */
  privateNetwork?: boolean;
}

export interface AllocateResult {
  /** turnutils_uclient got its relays and its packets came back through them. */
  ok: boolean;
  code: number | null;
  output: string;
}

export interface Coturn {
  readonly port: number;
  readonly pid: number;
  /** `turn:127.0.0.1:PORT?transport=udp` */
  readonly url: string;
  /** Everything coturn logged so far (it logs to stdout with -v). */
  log(): string;
  /** `command` as run in coturn's network: prefixed with nsenter for a private network, as it is otherwise. */
  inNetwork(command: readonly string[]): string[];
  /**
   * Two allocations with these credentials that send each other packets through their relays
   * (`turnutils_uclient -y`): proof that coturn accepts the credentials and relays.
   */
  allocate(username: string, password: string): Promise<AllocateResult>;
  /** SIGTERM by PID and wait (SIGKILL after a deadline); removes the temporary directory. Idempotent. */
  stop(): Promise<void>;
}

interface Finished {
  code: number | null;
  output: string;
}

/** Runs a command to its end (or kills it at the deadline), with stdout and stderr together. */
function run(command: readonly string[], timeoutMs: number): Promise<Finished> {
  return new Promise((resolve) => {
    const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (error) => (output += `spawn error: ${error.message}\n`));
    child.on('close', (code) => resolve({ code, output }));
  });
}

function coturnArgs(port: number, secret: string, dir: string): string[] {
  return [
    '-n', // no configuration file: everything is on this command line
    '-v', // log each session's username and whether ALLOCATE succeeded
    '--listening-port', String(port),
    '--listening-ip', '127.0.0.1',
    '--relay-ip', '127.0.0.1',
    '--use-auth-secret',
    '--static-auth-secret', secret,
    '--realm', TEST_REALM,
    '--fingerprint',
    // Relay addresses are 127.0.0.1 here, and so are the peers: coturn refuses loopback peers without this.
    '--allow-loopback-peers',
    '--no-tls',
    '--no-dtls',
    '--no-cli',
    '--log-file', 'stdout',
    '--simple-log',
    // What coturn writes, it writes here rather than under /var.
    '--pidfile', join(dir, 'turnserver.pid'),
    '--userdb', join(dir, 'turndb'),
  ];
}

/** Starts coturn on loopback with the TURN REST API secret and waits until it answers a STUN binding request. */
export async function startCoturn(options: CoturnOptions): Promise<Coturn> {
  const dir = mkdtempSync(join(tmpdir(), 'peer-signal-coturn-'));
  // coturn binds with SO_REUSEPORT, so a taken port does not fail: a second coturn silently shares it. A private
  // network has nothing else on 3478; on the shared loopback a port the OS just handed out is the best we have.
  const port = options.privateNetwork === true ? 3478 : await findFreePort();
  const args = coturnArgs(port, options.secret, dir);
  const command = options.privateNetwork === true ? ['unshare', '-n', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', TURNSERVER, ...args] : [TURNSERVER, ...args];
  // exec keeps one process: unshare execs sh, sh execs turnserver, so the child's pid is coturn's.
  const child: ChildProcess = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const keep = (chunk: Buffer): void => {
    lines.push(chunk.toString());
    if (lines.length > 2000) lines.shift();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.on('error', (error) => lines.push(`spawn error: ${error.message}\n`));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));

  const inNetwork = (inner: readonly string[]): string[] =>
    options.privateNetwork === true ? ['nsenter', '-t', String(child.pid), '-n', '--', ...inner] : [...inner];
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (!gone && child.pid !== undefined) {
        process.kill(child.pid, 'SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const late = await Promise.race([exited.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), STOP_MS)))]);
        clearTimeout(timer);
        if (late && !gone) {
          process.kill(child.pid, 'SIGKILL');
          await exited;
        }
      }
      rmSync(dir, { recursive: true, force: true });
    })());

  const deadline = Date.now() + READY_MS;
  for (;;) {
    const answer = await run(inNetwork([STUNCLIENT, '-p', String(port), '127.0.0.1']), PROBE_MS);
    if (answer.code === 0 && /reflexive addr/.test(answer.output)) break;
    if (gone || Date.now() > deadline) {
      await stop();
      throw new Error(
        `coturn ${gone ? 'exited' : `did not answer STUN within ${READY_MS} ms`} on port ${port}; last probe: ${answer.output.trim()}; log:\n${lines.join('').slice(-3000)}`,
      );
    }
  }

  return {
    port,
    pid: child.pid!,
    url: `turn:127.0.0.1:${port}?transport=udp`,
    log: () => lines.join(''),
    inNetwork,
    async allocate(username, password) {
      const result = await run(
        inNetwork([UCLIENT, '-u', username, '-w', password, '-p', String(port), '-y', '-n', '5', '-L', '127.0.0.1', '127.0.0.1']),
        UCLIENT_MS,
      );
      // Progress lines come first (`tot_recv_msgs=0, ...` while connecting); the summary's count is the last one.
      const received = [...result.output.matchAll(/tot_recv_msgs=(\d+)/g)].at(-1)?.[1];
      return { ok: result.code === 0 && Number(received ?? 0) > 0, ...result };
    },
    stop,
  };
}
