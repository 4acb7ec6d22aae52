// Starts and stops every process the bench runs (servers, Redis, load workers, wrk): pinned with taskset, stopped by PID.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const PEER_SIGNAL_BIN = path.join(ROOT, 'bin/peer-signal.js');
export const BARE_RELAY_BIN = path.join(ROOT, 'bench/targets/bare-relay.mjs');

/** The peer-signal executable the servers run: the build snapshot once snapshotBuild() ran. */
let peerSignalBin = PEER_SIGNAL_BIN;
/** An older build's bin/peer-signal.js (--baseline-bin), run as the server kind "before". */
let baselineBin;

export function useBaseline(bin) {
  baselineBin = bin;
}

/**
 * Copies bin/peer-signal.js and dist/ to a private directory and runs peer-signal from there, so a
 * rebuild during the run (npm run build, tsup --watch) cannot mix two builds in one set of results.
 * The bundle inlines its dependencies, so it runs from anywhere. Removed at exit.
 */
export function snapshotBuild() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'peer-signal-bench-'));
  cpSync(path.join(ROOT, 'bin'), path.join(dir, 'bin'), { recursive: true });
  cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
  peerSignalBin = path.join(dir, 'bin/peer-signal.js');
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
export const REFERENCE_BIN = path.join(ROOT, 'node_modules/peer/dist/bin/peerjs.js');

/** Every process we started and have not seen exit, by PID. */
const live = new Map();

export function hasCommand(name) {
  try {
    execFileSync('sh', ['-c', 'command -v "$0"', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function detectPinning() {
  if (process.env.BENCH_NO_PIN) return { enabled: false, reason: 'BENCH_NO_PIN is set' };
  if (process.platform !== 'linux') return { enabled: false, reason: 'not Linux' };
  if (!hasCommand('taskset')) return { enabled: false, reason: 'taskset not found (apt-get install util-linux)' };
  const cores = os.cpus().length;
  if (cores < 2) return { enabled: false, reason: `only ${cores} core` };
  return { enabled: true, serverCpu: '0', loadCpu: '1', reason: '' };
}

/** Where processes run: servers (and Redis) on CPU 0, load generators, wrk and this process on CPU 1. */
export const pinning = detectPinning();

export function describePinning() {
  return pinning.enabled
    ? `taskset: servers and Redis on CPU ${pinning.serverCpu}; load workers, wrk and the orchestrator on CPU ${pinning.loadCpu}`
    : `taskset: not used (${pinning.reason}); server and load share all cores, so ratios are less reliable`;
}

/** Moves this process (all its threads) to the load core, so it never competes with the server. */
export function pinSelfToLoadCore() {
  if (!pinning.enabled) return;
  try {
    execFileSync('taskset', ['-a', '-cp', pinning.loadCpu, String(process.pid)], { stdio: 'ignore' });
  } catch {
    // not fatal: the orchestrator is mostly idle
  }
}

/** Spawns `command` pinned to `cpu` (taskset execs the command, so the PID is the command's own). */
export function spawnTracked(name, cpu, command, args, options = {}) {
  const child =
    pinning.enabled && cpu !== undefined
      ? spawn('taskset', ['-c', cpu, command, ...args], options)
      : spawn(command, args, options);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  const entry = { name, child, exited: false };
  live.set(child.pid, entry);
  child.once('exit', () => {
    entry.exited = true;
    live.delete(child.pid);
  });
  // Without a listener a spawn error (ENOENT) would crash the bench instead of failing this step.
  child.on('error', () => {});
  return child;
}

function waitExit(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(child, graceMs = 2000) {
  if (!child || child.pid === undefined) return;
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await waitExit(child, graceMs)) return;
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitExit(child, 5000);
}

/** Kills every process still alive, synchronously: for exit, signal and error paths. */
export function killAllNow() {
  for (const [pid, entry] of live) {
    if (entry.exited) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

export function liveProcesses() {
  return [...live.entries()].map(([pid, entry]) => ({ pid, name: entry.name }));
}

/** Kills everything we started on exit, Ctrl-C, SIGTERM and crashes. */
export function installCleanup(log = (line) => process.stderr.write(line + '\n')) {
  let signalled = false;
  const onSignal = (signal) => {
    if (!signalled) log(`\nbench: ${signal} received, killing ${live.size} process(es) it started`);
    signalled = true;
    killAllNow();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('exit', killAllNow);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** GET with no keep-alive; resolves { status, body } or rejects on a network error or after `timeoutMs`. */
export function httpGet(url, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => {
        if (body.length < 65536) body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode, body }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

/** Polls `url` until it answers 200; bounded by `timeoutMs` and by the child exiting. */
export async function waitHttpOk(url, { timeoutMs = 10000, intervalMs = 5, child } = {}) {
  const deadline = performance.now() + timeoutMs;
  let lastError = 'no answer';
  for (let attempt = 0; attempt < 100000 && performance.now() < deadline; attempt++) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`process exited (${child.exitCode ?? child.signalCode}) before ${url} answered`);
    }
    try {
      const { status } = await httpGet(url, 1000);
      if (status === 200) return;
      lastError = `HTTP ${status}`;
    } catch (error) {
      lastError = error.code ?? error.message;
    }
    await sleep(intervalMs);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last: ${lastError})`);
}

/** Keeps the last few KB a stream wrote, for error messages, and otherwise drains it cheaply. */
function tailOf(stream, limit = 4096) {
  const state = { text: '', bytes: 0 };
  stream?.on('data', (chunk) => {
    state.bytes += chunk.length;
    state.text = (state.text + chunk.toString()).slice(-limit);
  });
  return state;
}

function firstLine(stream, timeoutMs) {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => finish(new Error(`no output line within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk) => {
      buffered += chunk.toString();
      const end = buffered.indexOf('\n');
      if (end !== -1) finish(undefined, buffered.slice(0, end));
    };
    const onEnd = () => finish(new Error('stdout closed before the first line'));
    function finish(error, line) {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      // Keep draining: a server blocked on a full stdout pipe would measure our reader, not itself.
      stream.on('data', () => {});
      stream.resume();
      if (error) reject(error);
      else resolve(line);
    }
    stream.on('data', onData);
    stream.once('end', onEnd);
  });
}

/**
 * The environment both servers start with: ours, minus NODE_EXTRA_CA_CERTS. Some sandboxes and
 * corporate machines set it, and Node then parses every certificate in that file before running a
 * line of JavaScript (60–90 ms here, on each start), although neither server makes TLS connections.
 * Removed for both servers alike, so cold start measures the servers rather than that file.
 */
export const SERVER_ENV = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_EXTRA_CA_CERTS'));
export const REMOVED_ENV = 'NODE_EXTRA_CA_CERTS' in process.env ? ['NODE_EXTRA_CA_CERTS'] : [];

/** The command line of each server kind that prints a `{"event":"listening","port":...}` line when ready. */
function listeningArgs(kind) {
  if (kind === 'bare') return [BARE_RELAY_BIN, '--port', '0', '--host', '127.0.0.1'];
  if (kind === 'before' && baselineBin === undefined) throw new Error('no baseline build: pass --baseline-bin');
  return [kind === 'before' ? baselineBin : peerSignalBin, '--port', '0', '--host', '127.0.0.1', '--json'];
}

/**
 * Starts peer-signal (`kind` "peer-signal", or "before" for the baseline build) through its CLI, or the bare
 * relay, on 127.0.0.1 with a free port, pinned to the server core. Resolves once the first stdout line
 * `{"event":"listening","port":...}` arrived.
 */
export async function startListening(kind, extraArgs = [], { name = kind, timeoutMs = 15000, nodeArgs = [] } = {}) {
  const args = [...nodeArgs, ...listeningArgs(kind), ...extraArgs];
  const t0 = performance.now();
  const child = spawnTracked(name, pinning.serverCpu, process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT, env: SERVER_ENV });
  const stderr = tailOf(child.stderr);
  let line;
  try {
    line = await firstLine(child.stdout, timeoutMs);
  } catch (error) {
    await stopProcess(child, 500);
    throw new Error(`${name} did not start: ${error.message}; stderr: ${stderr.text.trim() || '(empty)'}`);
  }
  const listeningMs = performance.now() - t0;
  let event;
  try {
    event = JSON.parse(line);
  } catch {
    event = {};
  }
  if (event.event !== 'listening' || !Number.isInteger(event.port)) {
    await stopProcess(child, 500);
    throw new Error(`${name}'s first stdout line is not the listening event: ${line.slice(0, 200)}`);
  }
  return serverHandle(kind, name, child, event.port, listeningMs, stderr);
}

export function startPeerSignal(extraArgs, options) {
  return startListening('peer-signal', extraArgs, options);
}

/** Starts the official `peerjs` CLI (peer@1.0.2) on a port we pick, and polls GET / until it answers. */
export async function startReference(extraArgs = [], { name = 'reference', timeoutMs = 15000, pollMs = 5, port: chosen } = {}) {
  const port = chosen ?? (await freePort());
  const args = [REFERENCE_BIN, '--port', String(port), '--host', '127.0.0.1', ...extraArgs];
  const t0 = performance.now();
  const child = spawnTracked(name, pinning.serverCpu, process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT, env: SERVER_ENV });
  // Drained the same way as peer-signal's: both log one line per connection at their defaults.
  child.stdout.on('data', () => {});
  const stderr = tailOf(child.stderr);
  try {
    await waitHttpOk(`http://127.0.0.1:${port}/`, { timeoutMs, intervalMs: pollMs, child });
  } catch (error) {
    await stopProcess(child, 500);
    throw new Error(`the reference server did not start: ${error.message}; stderr: ${stderr.text.trim() || '(empty)'}`);
  }
  return serverHandle('reference', name, child, port, performance.now() - t0, stderr);
}

function serverHandle(kind, name, child, port, startMs, stderr) {
  const origin = `http://127.0.0.1:${port}`;
  // peer-signal and the bare relay serve under /peerjs; the reference CLI at its default path /.
  const prefix = kind === 'reference' ? '' : '/peerjs';
  return {
    kind,
    name,
    child,
    pid: child.pid,
    port,
    startMs,
    /** Append `&id=...&token=...`. The peerjs client adds `version` too. */
    wsBase: `ws://127.0.0.1:${port}${prefix}/peerjs?key=peerjs&version=1.5.5`,
    idUrl: `${origin}${prefix}/peerjs/id`,
    healthUrl: kind === 'reference' ? `${origin}/` : `${origin}/health`,
    stderrTail: () => stderr.text,
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: (graceMs) => stopProcess(child, graceMs),
  };
}

/** Starts a server of `kind`: "reference", "bare", "before" or "peer-signal". */
export function startServer(kind, extraArgs, options) {
  return kind === 'reference' ? startReference(extraArgs, options) : startListening(kind, extraArgs, options);
}

/** Sends PING over raw RESP until Redis answers +PONG. */
async function waitRedis(port, child, timeoutMs = 10000) {
  const deadline = performance.now() + timeoutMs;
  for (let attempt = 0; attempt < 2000 && performance.now() < deadline; attempt++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    const ok = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      const done = (value) => {
        socket.destroy();
        resolve(value);
      };
      socket.setTimeout(500, () => done(false));
      socket.on('error', () => done(false));
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
    });
    if (ok) return;
    await sleep(20);
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
}

/** Starts a throwaway redis-server on a free loopback port, no persistence, pinned to the server core. */
export async function startRedis() {
  const port = await freePort();
  const child = spawnTracked(
    'redis-server',
    pinning.serverCpu,
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning', '--daemonize', 'no'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const stderr = tailOf(child.stderr);
  try {
    await waitRedis(port, child);
  } catch (error) {
    await stopProcess(child, 500);
    throw new Error(`${error.message}; stderr: ${stderr.text.trim()}`);
  }
  return { child, pid: child.pid, port, url: `redis://127.0.0.1:${port}`, stop: (graceMs) => stopProcess(child, graceMs) };
}
