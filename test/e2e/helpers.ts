// Spawn helpers for end-to-end tests of the built CLI: start processes, read their output, bound every wait, kill by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { within } from '../support/deadline.js';
import { serverEnv } from '../support/server-env.mjs';
import { rawWebSocket } from '../support/ws-frames.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = fileURLToPath(new URL('../../bin/peer-signal.js', import.meta.url));

/** Any ANSI escape sequence (colour, cursor movement, spinner frames). */
export const ANSI = /\u001b/;

/** How long a process may take to start and print its first line on a busy 2-core machine. */
export const START_TIMEOUT_MS = 10_000;
/** How long a short-lived command (an error, --version, health) may take to exit. */
export const EXIT_TIMEOUT_MS = 5_000;

export { serverEnv, within };

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from spawn to exit. */
  durationMs: number;
}

export interface SpawnOptions {
  /** Extra environment on top of {@link serverEnv} (undefined deletes a variable). */
  env?: Record<string, string | undefined>;
  /** The full environment, instead of serverEnv(env). */
  fullEnv?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Program and leading arguments; default `[node, bin/peer-signal.js]`. */
  exec?: readonly string[];
  /**
   * Close the reading end of stdout, as `| head -1` does: before the process writes anything
   * (`at-once`), or once the first line arrived (`after-first-line`).
   */
  closeStdout?: 'at-once' | 'after-first-line';
}

export interface CliProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly startedAt: number;
  /** Everything written to stdout / stderr so far. */
  readonly stdout: string;
  readonly stderr: string;
  /** Complete stdout lines so far. */
  readonly lines: readonly string[];
  /** Resolves once the process exited and its pipes closed. */
  readonly exited: Promise<ExitResult>;
  /** The next complete stdout line not yet taken; rejects if the process exits first or after timeoutMs. */
  nextLine(timeoutMs?: number): Promise<string>;
  /** Resolves with the first complete stdout line (seen or future) that passes `test`. */
  waitForLine(test: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Resolves once stderr matches `pattern`. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Waits for the exit; on the deadline kills the process and rejects. */
  waitForExit(timeoutMs?: number): Promise<ExitResult>;
  signal(signal: NodeJS.Signals): void;
  readonly running: boolean;
}

const live = new Set<CliProcess>();
/** Every process spawned since the last cleanup(), to show their output when a test fails. */
const spawnedSinceCleanup: Array<{ args: readonly string[]; process: CliProcess }> = [];

/** Spawns the CLI (or `exec`) with piped stdio, so stdout and stderr are not TTYs. Killed by {@link killAll}. */
export function spawnCli(args: readonly string[], options: SpawnOptions = {}): CliProcess {
  const [file, ...leading] = options.exec ?? [process.execPath, BIN];
  const startedAt = Date.now();
  const child = spawn(file!, [...leading, ...args], {
    cwd: options.cwd ?? ROOT,
    env: options.fullEnv ?? serverEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const lines: string[] = [];
  let taken = 0;
  let exitResult: ExitResult | undefined;
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const listener of [...listeners]) listener();
  };

  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  let partial = '';
  if (options.closeStdout === 'at-once') child.stdout!.destroy();
  child.stdout!.on('data', (chunk: string) => {
    stdout += chunk;
    const pieces = (partial + chunk).split('\n');
    partial = pieces.pop()!;
    lines.push(...pieces);
    if (options.closeStdout === 'after-first-line' && lines.length > 0) child.stdout!.destroy();
    notify();
  });
  child.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
    notify();
  });

  const exited = new Promise<ExitResult>((resolve) => {
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (exitResult !== undefined) return;
      exitResult = { code, signal, stdout, stderr, durationMs: Date.now() - startedAt };
      live.delete(handle);
      resolve(exitResult);
      notify();
    };
    child.on('close', finish);
    child.on('error', (error) => {
      stderr += `spawn error: ${error.message}\n`;
      finish(null, null);
    });
  });

  const waitUntil = <T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        listeners.delete(listener);
        reject(new Error(`${what}: nothing within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
      }, timeoutMs);
      const listener = (): void => {
        let value: T | undefined;
        try {
          value = check();
        } catch (error) {
          clearTimeout(timer);
          listeners.delete(listener);
          reject(error as Error);
          return;
        }
        if (value === undefined) return;
        clearTimeout(timer);
        listeners.delete(listener);
        resolve(value);
      };
      listeners.add(listener);
      listener();
    });

  const handle: CliProcess = {
    child,
    pid: child.pid ?? -1,
    startedAt,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    get lines() {
      return lines;
    },
    exited,
    nextLine(timeoutMs = START_TIMEOUT_MS) {
      return waitUntil(
        () => {
          if (taken < lines.length) return lines[taken++];
          if (exitResult !== undefined) {
            throw new Error(`process exited (code ${exitResult.code}, signal ${exitResult.signal}) before printing a line\nstderr: ${stderr}`);
          }
          return undefined;
        },
        timeoutMs,
        'waiting for a stdout line',
      );
    },
    waitForLine(test, timeoutMs = START_TIMEOUT_MS) {
      return waitUntil(
        () => {
          const found = lines.find(test);
          if (found !== undefined) return found;
          if (exitResult !== undefined) throw new Error(`process exited before printing the expected line\nstdout: ${stdout}\nstderr: ${stderr}`);
          return undefined;
        },
        timeoutMs,
        'waiting for a stdout line',
      );
    },
    waitForStderr(pattern, timeoutMs = START_TIMEOUT_MS) {
      return waitUntil(
        () => {
          if (pattern.test(stderr)) return stderr;
          if (exitResult !== undefined) throw new Error(`process exited before stderr matched ${pattern}\nstderr: ${stderr}`);
          return undefined;
        },
        timeoutMs,
        `waiting for stderr to match ${pattern}`,
      );
    },
    async waitForExit(timeoutMs = EXIT_TIMEOUT_MS) {
      try {
        return await within(exited, timeoutMs, `waiting for pid ${child.pid} to exit`);
      } catch (error) {
        killProcess(handle);
        throw new Error(`${(error as Error).message}\nstdout: ${stdout}\nstderr: ${stderr}`);
      }
    },
    signal(signal) {
      if (child.pid !== undefined && exitResult === undefined) process.kill(child.pid, signal);
    },
    get running() {
      return exitResult === undefined;
    },
  };
  live.add(handle);
  spawnedSinceCleanup.push({ args: [...(options.exec ?? ['peer-signal']).slice(-1), ...args], process: handle });
  return handle;
}

function killProcess(handle: CliProcess): void {
  if (!handle.running || handle.pid <= 0) return;
  killPids([handle.pid]);
}

/** Kills every process spawned by this module that is still running (by PID) and waits for them. For afterEach. */
export async function killAll(): Promise<void> {
  const running = [...live];
  for (const handle of running) killProcess(handle);
  await within(Promise.all(running.map((handle) => handle.exited)), EXIT_TIMEOUT_MS, 'killing leftover processes');
}

/**
 * Runs a shell command line in a pseudo-terminal (util-linux `script`; see terminalProblem()), so stdin, stdout and stderr
 * are a TTY, as in an interactive terminal. Everything the command writes arrives on stdout (with
 * CR LF line ends); the exit code is the command line's. The command line should bound itself
 * (`timeout -s KILL`): killing `script` leaves a command that ignores the hangup running.
 */
export function spawnInTerminal(commandLine: string, options: SpawnOptions = {}): CliProcess {
  return spawnCli([], { ...options, exec: ['script', '-qec', commandLine, '/dev/null'] });
}

/** `node bin/peer-signal.js` quoted for a shell command line. */
export const SHELL_BIN = `'${process.execPath}' '${BIN}'`;

/** Runs a command to completion; rejects (after killing it) if it does not exit within timeoutMs. */
export function runCli(args: readonly string[], options: SpawnOptions = {}, timeoutMs = EXIT_TIMEOUT_MS): Promise<ExitResult> {
  return spawnCli(args, options).waitForExit(timeoutMs);
}

export interface Listening {
  /** The base URL the server printed, e.g. http://127.0.0.1:43127/peerjs. */
  url: string;
  port: number;
  /** The first stdout line, verbatim. */
  line: string;
}

const TEXT_LISTENING = /^peer-signal listening on (https?:\/\/\S+)$/;

/** Reads the first stdout line and parses the listening URL from either the text or the --json form. */
export async function readListening(server: CliProcess, timeoutMs = START_TIMEOUT_MS): Promise<Listening> {
  const line = await server.nextLine(timeoutMs);
  let url: string;
  if (line.startsWith('{')) {
    const event = JSON.parse(line) as { event?: unknown; url?: unknown };
    if (event.event !== 'listening' || typeof event.url !== 'string') throw new Error(`not a listening event: ${line}`);
    url = event.url;
  } else {
    const match = TEXT_LISTENING.exec(line);
    if (match === null) throw new Error(`not a listening line: ${JSON.stringify(line)}\nstderr: ${server.stderr}`);
    url = match[1]!;
  }
  return { url, port: Number(new URL(url).port), line };
}

export interface StartedServer extends Listening {
  process: CliProcess;
}

/** Starts `peer-signal ...args --port 0 --host 127.0.0.1` and waits for the listening line. */
export async function startServer(args: readonly string[] = [], options: SpawnOptions = {}): Promise<StartedServer> {
  const server = spawnCli([...args, '--port', '0', '--host', '127.0.0.1'], options);
  const listening = await readListening(server);
  return { ...listening, process: server };
}

export interface HttpAnswer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** GET (or HEAD) without keep-alive; accepts self-signed certificates. */
export function httpGet(url: string, method: 'GET' | 'HEAD' = 'GET', timeoutMs = EXIT_TIMEOUT_MS): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const request = send(url, { method, agent: false, rejectUnauthorized: false, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: response.headers }),
      );
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end();
  });
}

const servers = new Set<NetServer>();

/** Listens on 127.0.0.1 port 0 with a plain TCP server; closed by {@link closeNetServers}. */
export async function occupyPort(onConnection?: (socket: Socket) => void): Promise<{ server: NetServer; port: number }> {
  const server = createNetServer(onConnection ?? ((socket) => socket.destroy()));
  servers.add(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}

export async function closeNetServer(server: NetServer): Promise<void> {
  servers.delete(server);
  if (!server.listening) return;
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export async function closeNetServers(): Promise<void> {
  await Promise.all([...servers].map((server) => closeNetServer(server)));
}

/** A port that was free a moment ago: bound on 127.0.0.1 by the OS, then released. */
export async function freedPort(): Promise<number> {
  const { server, port } = await occupyPort();
  await closeNetServer(server);
  return port;
}

export interface Peer {
  readonly ws: WebSocket;
  /** Frames received so far, parsed. */
  readonly messages: Array<Record<string, unknown>>;
  /** Resolves with the next frame not yet taken. */
  next(timeoutMs?: number): Promise<Record<string, unknown>>;
  readonly closed: Promise<{ code: number; reason: string }>;
  send(message: unknown): void;
}

const peers = new Set<Peer>();

/** The WebSocket URL for a server base URL such as http://127.0.0.1:43127/peerjs. */
export function socketUrl(baseUrl: string, query: Record<string, string>): string {
  const url = new URL(baseUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/peerjs`;
  url.search = new URLSearchParams(query).toString();
  return url.href;
}

/** A raw ws client that buffers every frame. Closed by {@link closePeers}. */
export function connectRaw(url: string, options: WebSocket.ClientOptions = {}): Peer {
  const ws = new WebSocket(url, { rejectUnauthorized: false, ...options });
  const messages: Array<Record<string, unknown>> = [];
  let taken = 0;
  const waiters = new Set<() => void>();
  ws.on('message', (data: WebSocket.RawData) => {
    messages.push(JSON.parse(data.toString()) as Record<string, unknown>);
    for (const waiter of [...waiters]) waiter();
  });
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code: number, reason: Buffer) => {
      resolve({ code, reason: reason.toString() });
      for (const waiter of [...waiters]) waiter();
    });
  });
  const peer: Peer = {
    ws,
    messages,
    closed,
    next(timeoutMs = EXIT_TIMEOUT_MS) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no frame within ${timeoutMs} ms; got so far ${JSON.stringify(messages)}`));
        }, timeoutMs);
        const check = (): void => {
          if (taken < messages.length) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(messages[taken++]!);
          } else if (ws.readyState === WebSocket.CLOSED) {
            clearTimeout(timer);
            waiters.delete(check);
            reject(new Error(`socket closed before the next frame; got ${JSON.stringify(messages)}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
    send(message) {
      ws.send(JSON.stringify(message));
    },
  };
  peers.add(peer);
  return peer;
}

/** Connects as a PeerJS client with `id` and waits for the server's OPEN frame. */
export async function connectPeer(
  baseUrl: string,
  id: string,
  { key = 'peerjs', token = `token-${id}`, ...options }: { key?: string; token?: string } & WebSocket.ClientOptions = {},
): Promise<Peer> {
  const peer = connectRaw(socketUrl(baseUrl, { key, id, token }), options);
  const first = await peer.next();
  if (first.type !== 'OPEN') throw new Error(`expected OPEN for ${id}, got ${JSON.stringify(first)}`);
  return peer;
}

export async function closePeers(): Promise<void> {
  const open = [...peers];
  peers.clear();
  for (const peer of open) if (peer.ws.readyState !== WebSocket.CLOSED) peer.ws.terminate();
  await within(Promise.all(open.map((peer) => peer.closed)), EXIT_TIMEOUT_MS, 'closing test sockets');
}

export interface StuckPeer {
  /** Resolves once the server sent a close frame (which this client never answers). */
  readonly closeFrame: Promise<number>;
  readonly socket: Socket;
}

const stuck = new Set<Socket>();

/**
 * A WebSocket client over a raw TCP socket that completes the opening handshake and then never answers the
 * closing one, so a server shutting down has to wait for it.
 */
export async function connectStuckPeer(baseUrl: string, query: Record<string, string>): Promise<StuckPeer> {
  const raw = rawWebSocket(socketUrl(baseUrl, query), { answerClose: false });
  stuck.add(raw.socket);
  await within(raw.text((text) => text.includes('"OPEN"')), EXIT_TIMEOUT_MS, 'waiting for OPEN on the raw socket');
  return { closeFrame: raw.closeFrame, socket: raw.socket };
}

export function destroyStuckPeers(): void {
  for (const socket of stuck) socket.destroy();
  stuck.clear();
}

/** What afterEach passes: enough to tell whether the test failed. */
export interface HookContext {
  task: { result?: { state?: string } };
}

/**
 * Everything a test may have left behind: processes, sockets, listeners. Use as `afterEach(cleanup)`;
 * when the test failed it prints what each spawned process wrote, since a crashed server explains most failures.
 */
export async function cleanup(context?: HookContext): Promise<void> {
  const spawned = spawnedSinceCleanup.splice(0);
  if (context?.task.result?.state === 'fail') {
    for (const { args, process: child } of spawned) {
      const status = child.running ? 'still running' : 'exited';
      console.error(`[${args.join(' ')}] (pid ${child.pid}, ${status})\nstdout: ${child.stdout}\nstderr: ${child.stderr}`);
    }
  }
  destroyStuckPeers();
  await Promise.all([killAll(), closePeers(), closeNetServers()]);
}

/** stderr split into non-empty lines. */
export function stderrLines(result: { stderr: string }): string[] {
  return result.stderr.split('\n').filter((line) => line.length > 0);
}

/** The `error:` lines of stderr (run prints its listening line and summary there too). */
export function errorLines(result: { stderr: string }): string[] {
  return stderrLines(result).filter((line) => line.startsWith('error:'));
}

/** Whether 127.0.0.1:`port` accepts a TCP connection now: false when it is refused. */
export function portAccepts(port: number, timeoutMs = EXIT_TIMEOUT_MS): Promise<boolean> {
  const socket = netConnect(port, '127.0.0.1');
  const answer = new Promise<boolean>((resolve, reject) => {
    socket.once('connect', () => resolve(true));
    socket.once('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNREFUSED' ? resolve(false) : reject(error)));
  });
  return within(answer, timeoutMs, `connecting to port ${port}`).finally(() => socket.destroy());
}

/**
 * Kills processes that a spawned CLI started in turn (a command under `run`), by PID, for afterEach:
 * killing `run` does not end its command. Those already gone are skipped.
 */
export function killPids(pids: Iterable<number>): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
