// Runs the peerjs cluster scenarios in headless Chromium against two built peer-signal instances sharing a redis-server.
// Meant to run inside a network namespace whose only interface is lo (test/e2e/browser-cluster.test.ts starts it so):
//   unshare -n -- sh -c 'ip link set lo up && exec node test/e2e/browser-cluster-driver.mjs'
// redis-server and both instances start INSIDE the namespace. stdout lines: {"event":"ready",...}, then
// {"event":"scenario","name":...,"ok":...} per scenario, then {"event":"done",...}; a fatal problem prints {"event":"fatal"}.
// Env: PEER_SIGNAL_E2E_CHROMIUM (default /usr/bin/chromium), PEER_SIGNAL_TEST_REDIS_SERVER (default redis-server).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect as netConnect, createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { serverEnv } from '../support/server-env.mjs';
import {
  ROOT as root,
  STOP_MS,
  cleanUp,
  cleanups,
  emit,
  launchBrowser,
  requireLoopbackOnly,
  runDriver,
  runScenario,
  startPageServer,
  tail,
  withDeadline,
} from './browser/driver-kit.mjs';

const REDIS_SERVER = process.env.PEER_SIGNAL_TEST_REDIS_SERVER ?? 'redis-server';
const DRIVER_DEADLINE_MS = 50_000;
const SERVER_START_MS = 10_000;
const REDIS_START_MS = 10_000;
const KEY = 'peerjs';
const PATH = '/peerjs';
const PREFIX = 'browser-e2e:';
const SCENARIOS = ['cross-instance-data-connection', 'cross-instance-unavailable-id'];

/** SIGTERM by PID, then SIGKILL if it overstays; resolves with how it ended. */
async function stopChild(child, exited) {
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode, alreadyExited: true };
  child.kill('SIGTERM');
  try {
    const [code, signal] = await withDeadline(exited, STOP_MS, `waiting for pid ${child.pid} to exit after SIGTERM`);
    return { code, signal };
  } catch {
    child.kill('SIGKILL');
    const [code, signal] = await exited;
    return { code, signal, killed: true };
  }
}

async function findFreePort() {
  const server = createNetServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  await new Promise((resolve) => server.close(() => resolve()));
  return port;
}

function ping(port) {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    let answer = '';
    const finish = (ok) => {
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

/** An empty, non-persistent redis-server on a free loopback port, polled with PING until it answers. */
async function startRedis() {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await findFreePort();
    const child = spawn(
      REDIS_SERVER,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const output = tail(20);
    child.stdout.on('data', (chunk) => output.push(chunk.toString()));
    child.stderr.on('data', (chunk) => output.push(chunk.toString()));
    child.on('error', (error) => output.push(`spawn error: ${error.message}`));
    const exited = once(child, 'exit');
    const deadline = Date.now() + REDIS_START_MS;
    while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
      if (await ping(port)) {
        return { url: `redis://127.0.0.1:${port}`, port, pid: child.pid, stop: () => stopChild(child, exited) };
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      throw new Error(`redis-server on port ${port} did not answer PING within ${REDIS_START_MS} ms: ${output.lines().join('')}`);
    }
    // It exited (most likely the port was taken meanwhile): try another port.
  }
  throw new Error('redis-server would not start on any of 5 free ports');
}

/** Spawns the built CLI in cluster mode on a free loopback port and resolves with its JSON listening line. */
async function startSignalServer(name, redisUrl) {
  const child = spawn(
    process.execPath,
    [
      'bin/peer-signal.js',
      '--port', '0',
      '--host', '127.0.0.1',
      '--json',
      '--key', KEY,
      '--path', PATH,
      '--redis', redisUrl,
      '--redis-prefix', PREFIX,
      '--cluster-lease', '1000',
      '--expire-timeout', '2000',
      '--log-level', 'debug',
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: serverEnv({ NO_COLOR: '1' }) },
  );
  const exited = once(child, 'exit');
  const stderr = tail(40);
  const log = tail(100);
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line));
  const lines = createInterface({ input: child.stdout });
  const first = new Promise((resolve, reject) => {
    lines.once('line', (line) => {
      try {
        resolve(JSON.parse(line));
      } catch {
        reject(new Error(`${name}: the first stdout line is not JSON: ${line}`));
      }
    });
    exited.then(([code, signal]) =>
      reject(new Error(`${name} exited (code ${code}, signal ${signal}) before listening; stderr: ${stderr.lines().join(' | ')}`)),
    );
  });
  lines.on('line', (line) => log.push(line));
  child.on('error', () => {});
  let listening;
  try {
    listening = await withDeadline(first, SERVER_START_MS, `waiting for ${name} to print its listening line`);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const exitStatus = () =>
    child.exitCode === null && child.signalCode === null ? null : { code: child.exitCode, signal: child.signalCode };
  return { name, listening, pid: child.pid, stop: () => stopChild(child, exited), stderr, log, exitStatus };
}

async function main() {
  requireLoopbackOnly('test/e2e/browser-cluster-driver.mjs');
  // Cleanups run newest first: the browser goes, then the pages, the instances, and redis-server last.
  const redis = await startRedis();
  cleanups.push({ name: 'redis', run: redis.stop });
  const servers = [];
  for (const name of ['first', 'second']) {
    const server = await startSignalServer(name, redis.url);
    cleanups.push({ name, run: server.stop });
    servers.push(server);
  }
  const targets = servers.map((server) => ({ host: '127.0.0.1', port: server.listening.port, path: PATH, key: KEY }));

  const pages = await startPageServer('test/e2e/browser/cluster-harness.js');
  cleanups.push({ name: 'pages', run: pages.close });

  const { browser, context } = await launchBrowser(pages.origin);

  emit({
    event: 'ready',
    redis: { url: redis.url, pid: redis.pid },
    servers: servers.map((server) => ({ ...server.listening, pid: server.pid })),
    targets,
    pageOrigin: pages.origin,
    browserVersion: browser.version(),
  });

  for (const name of SCENARIOS) {
    const result = await runScenario(context, pages.origin, targets, name);
    const record = { event: 'scenario', name, ...result };
    if (!result.ok) {
      record.servers = servers.map((server) => ({
        name: server.name,
        log: server.log.lines().slice(-40),
        stderr: server.stderr.lines(),
        exit: server.exitStatus(),
      }));
    }
    emit(record);
  }

  const stopped = await cleanUp();
  emit({ event: 'done', cleanup: stopped, serverStderr: servers.map((server) => server.stderr.lines()) });
}

runDriver(main, DRIVER_DEADLINE_MS);
