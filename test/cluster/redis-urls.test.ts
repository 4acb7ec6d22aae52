// The Redis URLs the README promises, through the CLI against real redis-servers: a password in the URL (used, and never
// printed), and rediss:// (TLS, trusted through NODE_EXTRA_CA_CERTS as an operator would).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { cleanup, runCli, startServer } from '../e2e/helpers.js';
import { opensslProblem, requires } from '../support/prerequisites.js';
import { findFreePort, redisMissing, signalAndWait, spawnRedis, type Running } from '../support/redis-server.js';

const PASSWORD = 'url-secret-4f9c2';
const READY_MS = 10_000;

/** Polls until `answer` (one round trip on a fresh connection) says the server is up, or the process exits. */
async function waitUntil(running: Running, answer: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + READY_MS;
  let exited = false;
  void running.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline && !exited) {
    if (await answer().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await signalAndWait(running, 'SIGKILL');
  throw new Error(`${what} did not come up within ${READY_MS} ms; output: ${running.output.join('')}`);
}

/** Sends PING on `socket` and resolves with the first reply line. */
function firstReply(socket: import('node:net').Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let reply = '';
    const timer = setTimeout(() => socket.destroy(new Error('no reply')), 1000);
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (!reply.includes('\r\n')) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(reply.split('\r\n')[0]!);
    });
    socket.write('PING\r\n');
  });
}

const suite = requires('the Redis URL tests', redisMissing, opensslProblem());

suite.describe('Redis URLs through the CLI', () => {
  const servers: Running[] = [];
  let dir = '';
  let certFile = '';
  let keyFile = '';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'peer-signal-redis-tls-'));
    certFile = join(dir, 'redis.crt');
    keyFile = join(dir, 'redis.key');
    // Self-signed for 127.0.0.1 (an IP SAN: Node checks those, not the CN, for an IP address).
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1', '-keyout', keyFile, '-out', certFile],
      { stdio: 'ignore', timeout: 20_000 },
    );
  });

  afterEach(cleanup);

  afterAll(async () => {
    await Promise.all(servers.splice(0).map((running) => signalAndWait(running, 'SIGKILL')));
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  async function redisWithPassword(): Promise<number> {
    const port = await findFreePort();
    const running = spawnRedis(port, ['--requirepass', PASSWORD]);
    servers.push(running);
    // Up once it answers at all: without AUTH that is -NOAUTH.
    await waitUntil(running, async () => (await firstReply(netConnect(port, '127.0.0.1'))).startsWith('-NOAUTH'), 'redis-server --requirepass');
    return port;
  }

  async function redisWithTls(): Promise<number> {
    const port = await findFreePort();
    const running = spawnRedis(0, ['--tls-port', String(port), '--tls-cert-file', certFile, '--tls-key-file', keyFile, '--tls-ca-cert-file', certFile, '--tls-auth-clients', 'no']);
    servers.push(running);
    const ca = readFileSync(certFile);
    await waitUntil(running, async () => (await firstReply(tlsConnect({ port, host: '127.0.0.1', ca }))) === '+PONG', 'redis-server over TLS');
    return port;
  }

  suite.it('a password in the URL is used, and never printed: the logs show redis://***@', async () => {
    const port = await redisWithPassword();
    const server = await startServer(['--redis', `redis://:${PASSWORD}@127.0.0.1:${port}`, '--log-level', 'info']);
    const health = (await (await fetch(`http://127.0.0.1:${server.port}/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'ok', cluster: { redis: 'connected' } });
    await expect.poll(() => server.process.stdout + server.process.stderr, { timeout: 5000 }).toContain(`redis://***@127.0.0.1:${port}`);
    expect(server.process.stdout + server.process.stderr).not.toContain(PASSWORD);
  });

  suite.it('a wrong password: one error line naming the redacted URL and Redis’s refusal, exit 1', async () => {
    const port = await redisWithPassword();
    const result = await runCli(['--port', '0', '--host', '127.0.0.1', '--redis', `redis://:wrong-${PASSWORD}@127.0.0.1:${port}`], {}, 15_000);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^error: cannot reach Redis at redis://\\*\\*\\*@127\\.0\\.0\\.1:${port}/? \\(.*(WRONGPASS|invalid username-password)`, 'm'));
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });

  suite.it('a Redis without sharded pub/sub (as before 7.0): one error line saying 7.0 is needed, exit 1', async () => {
    const port = await findFreePort();
    // Redis 6 has no SSUBSCRIBE; this 7.x plays one by renaming the command away.
    const running = spawnRedis(port, ['--rename-command', 'SSUBSCRIBE', '']);
    servers.push(running);
    await waitUntil(running, async () => (await firstReply(netConnect(port, '127.0.0.1'))) === '+PONG', 'redis-server without SSUBSCRIBE');
    const result = await runCli(['--port', '0', '--host', '127.0.0.1', '--redis', `redis://127.0.0.1:${port}`], {}, 15_000);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: Redis at redis:\/\/127\.0\.0\.1:\d+\/? has no sharded pub\/sub \(SSUBSCRIBE is an unknown command there\); cluster mode needs Redis 7\.0 or later: upgrade it$/m);
    // One line: no warning about failing commands before it.
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  suite.it('rediss:// connects over TLS when the CA is trusted (NODE_EXTRA_CA_CERTS), and refuses an untrusted certificate', async () => {
    const port = await redisWithTls();
    const trusted = await startServer(['--redis', `rediss://127.0.0.1:${port}`], { env: { NODE_EXTRA_CA_CERTS: certFile } });
    const health = (await (await fetch(`http://127.0.0.1:${trusted.port}/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'ok', cluster: { redis: 'connected' } });

    const untrusted = await runCli(['--port', '0', '--host', '127.0.0.1', '--redis', `rediss://127.0.0.1:${port}`], { env: { NODE_EXTRA_CA_CERTS: undefined } }, 15_000);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/^error: cannot reach Redis at rediss:\/\/127\.0\.0\.1:\d+\/? \(.*(self[- ]signed|certificate)/m);
  });
});
