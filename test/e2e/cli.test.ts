// End-to-end tests of the built CLI (bin/peer-signal.js → dist/cli.js): output, config precedence, errors, commands, shutdown.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ANSI,
  BIN,
  EXIT_TIMEOUT_MS,
  ROOT,
  SHELL_BIN,
  cleanup,
  closeNetServer,
  connectPeer,
  connectRaw,
  connectStuckPeer,
  freedPort,
  httpGet,
  occupyPort,
  readListening,
  runCli,
  socketUrl,
  spawnCli,
  spawnInTerminal,
  startServer,
  stderrLines,
  within,
  type ExitResult,
} from './helpers.js';
import { opensslProblem, requires, skipUnless, straceProblem, terminalProblem } from '../support/prerequisites.js';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const LISTENING_LINE = /^peer-signal listening on http:\/\/127\.0\.0\.1:(\d+)\/peerjs$/;

afterEach(cleanup);

/** One `error:` line on stderr, nothing on stdout, no colour. */
function expectOneErrorLine(result: ExitResult): string {
  const lines = stderrLines(result);
  expect(lines, `stderr: ${result.stderr}`).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(result.stdout).toBe('');
  expect(result.stderr).not.toMatch(ANSI);
  return lines[0]!;
}

async function discoveryIsOn(url: string): Promise<boolean> {
  const answer = await httpGet(`${url}/peerjs/peers`);
  expect([200, 401], `GET ${url}/peerjs/peers answered ${answer.status}: ${answer.body}`).toContain(answer.status);
  return answer.status === 200;
}

describe('bundle smoke test', () => {
  it.each([
    ['dist/cli.js', join(ROOT, 'dist/cli.js')],
    ['bin/peer-signal.js', BIN],
  ])('node %s --version prints the package.json version', async (_name, entry) => {
    const result = await runCli(['--version'], { exec: [process.execPath, entry] });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${VERSION}\n`);
    expect(result.stderr).toBe('');
  });
});

describe('serve output', () => {
  it.each([
    ['FORCE_COLOR unset', {}],
    ['NO_COLOR=1', { NO_COLOR: '1' }],
  ])('prints exactly one plain stdout line when piped (%s)', async (_name, env) => {
    const server = await startServer([], { env });
    expect(server.line).toMatch(LISTENING_LINE);
    expect(server.port).toBeGreaterThan(0);
    // Logs (to stderr in text mode) must not add stdout lines.
    const peer = await connectPeer(server.url, 'a');
    await server.process.waitForStderr(/peer connected/);
    peer.ws.close();
    server.process.signal('SIGTERM');
    const result = await server.process.waitForExit();
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`peer-signal listening on ${server.url}\n`);
    expect(result.stdout + result.stderr).not.toMatch(ANSI);
  });

  it('--json prints a listening event, then JSON log events without the key or token', async () => {
    const key = 'k3y-s3cret';
    const token = 'tok-s3cret';
    const wrongKey = 'n0t-the-k3y';
    const server = await startServer(['--json', '--key', key]);
    const first = JSON.parse(server.line) as Record<string, unknown>;
    // The key is no secret from browsers (every client page carries it): the listening line gives it, the logs never.
    expect(first).toEqual({
      event: 'listening',
      url: server.url,
      wsUrl: `ws://127.0.0.1:${server.port}/peerjs/peerjs`,
      port: server.port,
      host: '127.0.0.1',
      path: '/peerjs',
      secure: false,
      key,
      client: { host: '127.0.0.1', port: server.port, path: '/peerjs', key, secure: false },
      version: expect.any(String),
    });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/peerjs$/);
    expect(server.port).toBeGreaterThan(0);

    await connectPeer(server.url, 'a', { key, token });
    const connected = await server.process.waitForLine((line) => line.includes('"a"'));
    expect(JSON.parse(connected)).toMatchObject({ level: 'info', id: 'a' });

    // A refused client's (wrong) key must not be logged either.
    const refused = connectRaw(socketUrl(server.url, { key: wrongKey, id: 'b', token: 'tok-b-s3cret' }));
    expect((await refused.next()).type).toBe('ERROR');
    await server.process.waitForLine((line) => line.includes('"b"') || /refused/.test(line));

    server.process.signal('SIGTERM');
    const result = await server.process.waitForExit();
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n').filter((line) => line.length > 0);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(() => JSON.parse(line), `not JSON: ${line}`).not.toThrow();
    const output = lines.slice(1).join('\n') + result.stderr;
    for (const secret of [key, token, wrongKey, 'tok-b-s3cret']) expect(output).not.toContain(secret);
    expect(output).not.toMatch(ANSI);
  });
});

describe('config precedence: flags over env over defaults', () => {
  it('--port 0 beats PORT=1', async () => {
    const server = await startServer([], { env: { PORT: '1' } });
    expect(server.port).toBeGreaterThan(1);
  });

  it('PATH_PREFIX sets the path; --path beats it; PEERSERVER_PATH ranks below PATH_PREFIX', async () => {
    const [fromEnv, fromFlag, legacy, both] = await Promise.all([
      startServer([], { env: { PATH_PREFIX: '/x' } }),
      startServer(['--path', '/y'], { env: { PATH_PREFIX: '/x' } }),
      startServer([], { env: { PEERSERVER_PATH: '/z' } }),
      startServer([], { env: { PEERSERVER_PATH: '/z', PATH_PREFIX: '/x' } }),
    ]);
    expect(fromEnv.url).toMatch(/:\d+\/x$/);
    expect(fromFlag.url).toMatch(/:\d+\/y$/);
    expect(legacy.url).toMatch(/:\d+\/z$/);
    expect(both.url).toMatch(/:\d+\/x$/);
    expect((await httpGet(`${fromEnv.url}/health`)).status).toBe(200);
  });

  it.each([
    ['ALLOW_DISCOVERY=true', { ALLOW_DISCOVERY: 'true' }, [], true],
    ['ALLOW_DISCOVERY=false', { ALLOW_DISCOVERY: 'false' }, [], false],
    ['ALLOW_DISCOVERY=1', { ALLOW_DISCOVERY: '1' }, [], true],
    ['ALLOW_DISCOVERY=0', { ALLOW_DISCOVERY: '0' }, [], false],
    ['ALLOW_DISCOVERY=yes', { ALLOW_DISCOVERY: 'yes' }, [], true],
    ['ALLOW_DISCOVERY=no', { ALLOW_DISCOVERY: 'no' }, [], false],
    ['ALLOW_DISCOVERY=on', { ALLOW_DISCOVERY: 'on' }, [], true],
    ['ALLOW_DISCOVERY=off', { ALLOW_DISCOVERY: 'off' }, [], false],
    ['no flag, no env', {}, [], false],
    ['--allow-discovery beats ALLOW_DISCOVERY=false', { ALLOW_DISCOVERY: 'false' }, ['--allow-discovery'], true],
    ['--allow_discovery (official alias)', {}, ['--allow_discovery'], true],
  ])('%s', async (_name, env: Record<string, string>, args: string[], on: boolean) => {
    const server = await startServer(args, { env });
    expect(await discoveryIsOn(server.url)).toBe(on);
  });
});

describe('official peerjs CLI aliases', () => {
  it.each([['--expire_timeout'], ['-t']])('%s sets the expire timeout', async (flag) => {
    const server = await startServer([flag, '200']);
    const sender = await connectPeer(server.url, 'a');
    sender.send({ type: 'OFFER', dst: 'ghost', payload: { sdp: 'x' } });
    // The default is 5000 ms; EXPIRE within 3 s shows the flag took effect.
    expect(await sender.next(3000)).toMatchObject({ type: 'EXPIRE', src: 'ghost', dst: 'a' });
  });

  it('--alive_timeout closes a silent peer', async () => {
    const server = await startServer(['--alive_timeout', '300']);
    const silent = await connectPeer(server.url, 'a', { autoPong: false });
    // The default is 60 s; a close within 4 s shows the flag took effect.
    const closed = await within(silent.closed, 4000, 'waiting for the silent peer to be closed');
    // 4001 when the close frame arrives before the server drops the TCP connection, 1006 otherwise.
    expect([4001, 1006]).toContain(closed.code);
  });

  it.each([['--concurrent_limit'], ['-c']])('%s limits concurrent peers', async (flag) => {
    const server = await startServer([flag, '1']);
    await connectPeer(server.url, 'a');
    const second = connectRaw(socketUrl(server.url, { key: 'peerjs', id: 'b', token: 'token-b' }));
    expect(await second.next()).toEqual({ type: 'ERROR', payload: { msg: 'Server has reached its concurrent user limit' } });
  });
});

describe('usage errors: one error line, nothing on stdout, exit 2', () => {
  const SAFE = ['--port', '0', '--host', '127.0.0.1'];
  it.each([
    ['--port abc', ['--port', 'abc', '--host', '127.0.0.1'], {}, /abc/],
    ['PORT=abc', ['--host', '127.0.0.1'], { PORT: 'abc' }, /\bPORT\b/],
    ['--expire-timeout 5s', ['--expire-timeout', '5s', ...SAFE], {}, /--expire-timeout.*5s|5s.*--expire-timeout/],
    ['--expire_timeout 5s', ['--expire_timeout', '5s', ...SAFE], {}, /5s/],
    ['ALLOW_DISCOVERY=maybe', SAFE, { ALLOW_DISCOVERY: 'maybe' }, /ALLOW_DISCOVERY.*maybe|maybe.*ALLOW_DISCOVERY/],
    ['unknown flag --prot', ['--prot', '0', ...SAFE], {}, /--prot\b.*--port\b/],
    ['unknown command helth', ['helth', ...SAFE], {}, /^error: unknown command 'helth' \(did you mean health\?\)/],
    ['--ssl-key without --ssl-cert', ['--ssl-key', join(ROOT, 'package.json'), ...SAFE], {}, /--ssl-cert/],
    ['a missing certificate file', ['--ssl-key', '/nonexistent/peer-signal.key', '--ssl-cert', '/nonexistent/peer-signal.crt', ...SAFE], {}, /nonexistent/],
    ['--log-level loud', ['--log-level', 'loud', ...SAFE], {}, /loud/],
    // serve takes no arguments: a word near a command's name is a mistyped command, anything else does not belong.
    ['serve extra', ['serve', 'extra'], {}, /^error: unexpected argument 'extra'/],
    ['extra', ['extra'], {}, /^error: unexpected argument 'extra'/],
    ['--port 0 serve extra', ['--port', '0', 'serve', 'extra'], {}, /^error: unexpected argument 'extra'/],
    // Each error names the flag or the environment variable the value came from, not the Config field.
    ["API_KEY=''", SAFE, { API_KEY: '' }, /^error: API_KEY must be 1-128 characters/],
    ["-k 'with space'", ['-k', 'with space', ...SAFE], {}, /^error: --key must be 1-128 characters/],
    ["--path 'no slash'", ['--path', 'no slash', ...SAFE], {}, /^error: --path must be a plain URL path/],
    ["PATH_PREFIX='a b'", SAFE, { PATH_PREFIX: 'a b' }, /^error: PATH_PREFIX must be a plain URL path/],
    ["PEERSERVER_PATH='a?b'", SAFE, { PEERSERVER_PATH: 'a?b' }, /^error: PEERSERVER_PATH must be a plain URL path/],
    ["HOST=''", ['--port', '0'], { HOST: '' }, /^error: HOST must not be empty/],
    ["-H ''", ['-H', '', '--port', '0'], {}, /^error: --host must not be empty/],
    ['--redis http://x', ['--redis', 'http://x', ...SAFE], {}, /^error: --redis must look like redis:\/\//],
    ['REDIS_URL=http://x', SAFE, { REDIS_URL: 'http://x' }, /^error: REDIS_URL must look like redis:\/\//],
    ['--rate-bytes-burst below the message size', ['--rate-bytes-burst', '2048', ...SAFE], {}, /^error: --rate-bytes-burst \(2048\) is smaller than --max-message-size/],
    ['PEER_SIGNAL_RATE_BYTES_BURST below the message size', SAFE, { PEER_SIGNAL_RATE_BYTES_BURST: '2048' }, /^error: PEER_SIGNAL_RATE_BYTES_BURST .* raise PEER_SIGNAL_RATE_BYTES_BURST or lower --max-message-size/],
    ['--cors with a * in the host', ['--cors', 'https://app*.example.com', ...SAFE], {}, /'--cors <origin\.\.\.>'.*https:\/\/\*\.example\.com/],
    ['PEER_SIGNAL_ALLOWED_ORIGINS=https://*', SAFE, { PEER_SIGNAL_ALLOWED_ORIGINS: 'https://*' }, /PEER_SIGNAL_ALLOWED_ORIGINS.*http:\/\/localhost:\*/],
    ['--ssl-cert without --ssl-key', ['--ssl-cert', join(ROOT, 'package.json'), ...SAFE], {}, /^error: --ssl-cert needs --ssl-key/],
    ['an unreadable PEER_SIGNAL_SSL_KEY', SAFE, { PEER_SIGNAL_SSL_KEY: '/nonexistent/k', PEER_SIGNAL_SSL_CERT: '/nonexistent/c' }, /^error: cannot read the PEER_SIGNAL_SSL_KEY file/],
    // Readable, but not PEM: a JSON file as key and certificate.
    ['a key and certificate that are not PEM', ['--ssl-key', join(ROOT, 'package.json'), '--ssl-cert', join(ROOT, 'package.json'), ...SAFE], {}, /^error: the TLS key or certificate cannot be used \(.*PEM.*\); pass a PEM private key/],
    // Unreadable even for root: a directory.
    ['a directory as --ssl-key', ['--ssl-key', ROOT, '--ssl-cert', join(ROOT, 'package.json'), ...SAFE], {}, /^error: cannot read the --ssl-key file .*EISDIR/],
  ])('%s', async (_name, args: string[], env: Record<string, string>, mentions: RegExp) => {
    const result = await runCli(args, { env });
    const line = expectOneErrorLine(result);
    expect(line).toMatch(mentions);
    // The Config field names are for library users.
    expect(line).not.toMatch(/^error: (key|path|host|redisUrl|rateBytesBurst|cors|allowedOrigins)\b/);
    expect(result.code).toBe(2);
  });

  it.each([
    ['--admin-token', ['--admin-token', 'short-secret-1', ...SAFE], {}],
    ['PEER_SIGNAL_TOKEN_SECRET', SAFE, { PEER_SIGNAL_TOKEN_SECRET: 'short-secret-2' }],
    ['token --token-secret', ['token', 'alice', '--token-secret', 'short-secret-3'], {}],
  ])('a too-short %s is refused without repeating the secret', async (name, args: string[], env: Record<string, string>) => {
    const result = await runCli(args, { env });
    const line = expectOneErrorLine(result);
    expect(line).toContain(name.replace('token ', ''));
    expect(line).toMatch(/at least 16 characters/);
    expect(line).not.toMatch(/short-secret/);
    expect(result.code).toBe(2);
  });

  it('NO_COLOR=1 errors carry no colour either', async () => {
    const result = await runCli(['--port', 'abc'], { env: { NO_COLOR: '1' } });
    expectOneErrorLine(result);
    expect(result.code).toBe(2);
  });

  // Without them the same error is one line (the table above).
  it.each([
    ['--debug', ['--debug'], {}],
    ['DEBUG=peer-signal', [], { DEBUG: 'peer-signal' }],
    ['DEBUG=express,peer-signal', [], { DEBUG: 'express,peer-signal' }],
  ])('%s adds the stack trace of the cause below the error line', async (_name, args: string[], env: Record<string, string>) => {
    const result = await runCli(['--ssl-key', ROOT, '--ssl-cert', join(ROOT, 'package.json'), ...SAFE, ...args], { env });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const [first, second, ...frames] = stderrLines(result);
    expect(first).toMatch(/^error: cannot read the --ssl-key file .*EISDIR/);
    expect(second).toMatch(/^Error: EISDIR/);
    expect(frames.length, result.stderr).toBeGreaterThan(0);
    for (const frame of frames) expect(frame).toMatch(/^ {4}at /);
  });
});

describe('token', () => {
  const secret = 'a-long-enough-test-secret';

  it('<id> --ttl 15m --json prints {"id","token","expiresAt"}; the token opens that id, and only that id, on a server with the secret', async () => {
    const before = Math.floor(Date.now() / 1000);
    const result = await runCli(['token', 'alice', '--ttl', '15m', '--json'], { env: { PEER_SIGNAL_TOKEN_SECRET: secret } });
    const after = Math.ceil(Date.now() / 1000);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.endsWith('\n') && result.stdout.indexOf('\n') === result.stdout.length - 1, result.stdout).toBe(true);
    const minted = JSON.parse(result.stdout) as { id: string; token: string; expiresAt: string };
    expect(Object.keys(minted).sort()).toEqual(['expiresAt', 'id', 'token']);
    expect(minted.id).toBe('alice');
    const expiry = Number(/^v1\.(\d+)\.[A-Za-z0-9_-]+$/.exec(minted.token)?.[1]);
    expect(expiry).toBeGreaterThanOrEqual(before + 15 * 60);
    expect(expiry).toBeLessThanOrEqual(after + 15 * 60);
    expect(minted.expiresAt).toBe(new Date(expiry * 1000).toISOString());

    const server = await startServer([], { env: { PEER_SIGNAL_TOKEN_SECRET: secret } });
    await connectPeer(server.url, 'alice', { token: minted.token });
    const bob = connectRaw(socketUrl(server.url, { key: 'peerjs', id: 'bob', token: minted.token }));
    expect(await bob.next()).toMatchObject({ type: 'ERROR', payload: { msg: expect.stringMatching(/^Invalid token provided/) } });
  });

  it('<id> --token-secret prints the token alone, valid for an hour by default', async () => {
    const before = Math.floor(Date.now() / 1000);
    const result = await runCli(['token', 'bob', '--token-secret', secret]);
    const after = Math.ceil(Date.now() / 1000);
    expect(result.code, result.stderr).toBe(0);
    const expiry = Number(/^v1\.(\d+)\.[A-Za-z0-9_-]+\n$/.exec(result.stdout)?.[1]);
    expect(expiry).toBeGreaterThanOrEqual(before + 3600);
    expect(expiry).toBeLessThanOrEqual(after + 3600);
  });
});

describe('runtime errors', () => {
  it('a port already in use exits 1 and suggests --port 0', async () => {
    const { port } = await occupyPort();
    const result = await runCli(['--port', String(port), '--host', '127.0.0.1']);
    const line = expectOneErrorLine(result);
    expect(line).toMatch(/EADDRINUSE|in use/);
    expect(line).toContain('--port 0');
    expect(result.code).toBe(1);
  });
});

requires('the IPv6 fallback test', straceProblem()).describe('no IPv6', () => {
  // strace makes the kernel's answer real for this one process: its first socket() (the AF_INET6 listener for ::) fails
  // with EAFNOSUPPORT, as on a host booted without IPv6; every later socket() is untouched.
  const withoutIPv6 = ['strace', '-f', '-qq', '-o', '/dev/null', '-e', 'trace=socket', '-e', 'inject=socket:error=EAFNOSUPPORT:when=1', process.execPath, BIN];

  it('the default host :: falls back to 0.0.0.0 and serves; with IPv6, :: is kept', async () => {
    const fallback = spawnCli(['--port', '0', '--json'], { exec: withoutIPv6 });
    const listening = await readListening(fallback);
    expect(JSON.parse(listening.line)).toMatchObject({ event: 'listening', host: '0.0.0.0' });
    expect((await httpGet(`http://127.0.0.1:${listening.port}/health`)).status).toBe(200);
    // Stopped by its own PID (strace's child): a signal to strace would only detach it and leave it running.
    const [server] = readFileSync(`/proc/${fallback.pid}/task/${fallback.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    process.kill(server!, 'SIGTERM');
    expect((await fallback.waitForExit(EXIT_TIMEOUT_MS)).code).toBe(0);

    const normal = spawnCli(['--port', '0', '--json']);
    expect(JSON.parse((await readListening(normal)).line)).toMatchObject({ event: 'listening', host: '::' });
  });
});

requires('the HTTPS end-to-end tests', opensslProblem()).describe('HTTPS', () => {
  let dir = '';
  let keyFile = '';
  let certFile = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'peer-signal-tls-'));
    keyFile = join(dir, 'k');
    certFile = join(dir, 'c');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-days', '1', '-keyout', keyFile, '-out', certFile],
      { stdio: 'ignore', timeout: 20_000 },
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--ssl-key/--ssl-cert serve https and wss; health --insecure accepts the self-signed certificate', async () => {
    const server = await startServer(['--ssl-key', keyFile, '--ssl-cert', certFile]);
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/peerjs$/);
    const answer = await httpGet(`${server.url}/health`);
    expect(answer.status).toBe(200);
    await connectPeer(server.url, 'a');

    const insecure = await runCli(['health', '--insecure', '--url', server.url]);
    expect(insecure.code, insecure.stderr).toBe(0);
    // Without --insecure a self-signed certificate is not trusted.
    const strict = await runCli(['health', '--url', server.url]);
    expect(strict.code).toBe(1);
    expectOneErrorLine(strict);
  });

  it('--sslkey/--sslcert (official aliases) serve https', async () => {
    const server = await startServer(['--sslkey', keyFile, '--sslcert', certFile]);
    expect(server.url).toMatch(/^https:\/\//);
    expect((await httpGet(`${server.url}/health`)).status).toBe(200);
  });
});

describe('health', () => {
  it('exits 0 against a running server with --url, and via HOST/PORT/PATH_PREFIX without it', async () => {
    const server = await startServer([], { env: { PATH_PREFIX: '/x' } });
    const [byUrl, byEnv] = await Promise.all([
      runCli(['health', '--url', server.url]),
      runCli(['health'], { env: { HOST: '127.0.0.1', PORT: String(server.port), PATH_PREFIX: '/x' } }),
    ]);
    for (const result of [byUrl, byEnv]) {
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout.split('\n').filter(Boolean)).toHaveLength(1);
      expect(result.stdout + result.stderr).not.toMatch(ANSI);
    }
  });

  it('--json prints one JSON document', async () => {
    const server = await startServer();
    const result = await runCli(['health', '--json', '--url', server.url]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.endsWith('\n')).toBe(true);
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ healthy: true, status: 'ok', version: VERSION });
  });

  it('exits 1 with one error line when nothing listens', async () => {
    const port = await freedPort();
    const result = await runCli(['health', '--url', `http://127.0.0.1:${port}/peerjs`]);
    const line = expectOneErrorLine(result);
    expect(line).toContain(String(port));
    expect(result.code).toBe(1);
  });

  it('--json still prints one JSON document when nothing listens, and exits 1', async () => {
    const port = await freedPort();
    const result = await runCli(['health', '--json', '--url', `http://127.0.0.1:${port}/peerjs`]);
    expect(result.code).toBe(1);
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ healthy: false });
  });

  it('reports usage errors with exit 1, not 2 (Docker reserves 2 for health checks)', async () => {
    const result = await runCli(['health', '--bogus']);
    expect(stderrLines(result)).toHaveLength(1);
    expect(result.stderr).toMatch(/^error: /);
    expect(result.code).toBe(1);
  });

  it('--wait 10 started before the server succeeds once the server comes up', async () => {
    // Hold the port with a listener that drops every connection: the first probe that reaches it proves
    // health is polling before peer-signal exists. Then hand the port over.
    let probed: () => void = () => {};
    const firstProbe = new Promise<void>((resolve) => (probed = resolve));
    const holder = await occupyPort((socket) => {
      socket.destroy();
      probed();
    });
    const health = spawnCli(['health', '--wait', '10', '--url', `http://127.0.0.1:${holder.port}/peerjs`]);
    await within(firstProbe, 10_000, 'waiting for the first health probe');
    expect(health.running).toBe(true);
    await closeNetServer(holder.server);
    const server = spawnCli(['--port', String(holder.port), '--host', '127.0.0.1']);
    const result = await health.waitForExit(12_000);
    expect(result.code, `health stderr: ${result.stderr}\nserver stderr: ${server.stderr}`).toBe(0);
  });

  it('--wait 1 with nothing listening exits 1 after about a second', async () => {
    const port = await freedPort();
    const url = `http://127.0.0.1:${port}/peerjs`;
    // What start-up and one refused probe cost on this machine now, without waiting.
    const once = await runCli(['health', '--url', url], {}, 15_000);
    expect(once.code).toBe(1);
    const result = await runCli(['health', '--wait', '1', '--url', url], {}, 20_000);
    expect(result.code).toBe(1);
    expectOneErrorLine(result);
    expect(result.durationMs).toBeGreaterThanOrEqual(1000);
    // The second besides, with a margin for a stalled machine (the terminal tests bound the deadline more loosely still).
    expect(result.durationMs, `without --wait: ${once.durationMs} ms`).toBeLessThan(once.durationMs + 1000 + 5000);
  }, 40_000);
});

describe('peers', () => {
  it('lists connected ids one per line, or as a JSON array', async () => {
    const server = await startServer(['--allow-discovery']);
    await connectPeer(server.url, 'alice');
    await connectPeer(server.url, 'bob');
    const [text, json] = await Promise.all([
      runCli(['peers', '--url', server.url]),
      runCli(['peers', '--json', '--url', server.url]),
    ]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout.split('\n').filter(Boolean).sort()).toEqual(['alice', 'bob']);
    expect(text.stdout + text.stderr).not.toMatch(ANSI);
    expect(json.code, json.stderr).toBe(0);
    expect(json.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect((JSON.parse(json.stdout) as string[]).sort()).toEqual(['alice', 'bob']);
  });

  it('with discovery off exits 1 with an error mentioning --allow-discovery', async () => {
    const server = await startServer();
    const result = await runCli(['peers', '--url', server.url]);
    const line = expectOneErrorLine(result);
    expect(line).toContain('--allow-discovery');
    expect(result.code).toBe(1);
  });
});

describe('shutdown', () => {
  it.each([['SIGTERM'], ['SIGINT']] as const)('%s closes connected peers with 1001 and exits 0 within 5 s', async (signal) => {
    const server = await startServer();
    const peers = await Promise.all([connectPeer(server.url, 'a'), connectPeer(server.url, 'b')]);
    const signalledAt = Date.now();
    server.process.signal(signal);
    const result = await server.process.waitForExit(EXIT_TIMEOUT_MS + 1000);
    const closes = await within(Promise.all(peers.map((peer) => peer.closed)), 1000, 'waiting for the peers to close');
    expect(closes.map((close) => close.code)).toEqual([1001, 1001]);
    expect(result.code).toBe(0);
    expect(result.signal).toBeNull();
    expect(Date.now() - signalledAt).toBeLessThan(5000);
    expect(result.stderr).toMatch(new RegExp(`${signal} received, shutting down`));
  });

  it.each([
    ['SIGTERM', 'SIGTERM', 143],
    ['SIGINT', 'SIGINT', 130],
  ] as const)('a second signal during shutdown exits at once (%s then %s → %i)', async (first, second, code) => {
    const server = await startServer();
    // This client never answers the closing handshake, so shutdown waits on it (up to 5 s).
    const peer = await connectStuckPeer(server.url, { key: 'peerjs', id: 'stuck', token: 'token-stuck' });
    server.process.signal(first);
    expect(await within(peer.closeFrame, EXIT_TIMEOUT_MS, 'waiting for the close frame')).toBe(1001);
    // The close frame is sent during shutdown, so the first signal has been handled and shutdown is waiting.
    const secondAt = Date.now();
    server.process.signal(second);
    const result = await server.process.waitForExit(EXIT_TIMEOUT_MS);
    expect(Date.now() - secondAt).toBeLessThan(2500);
    expect(result.code).toBe(code);
  });
});

/** Text without ANSI escapes and carriage returns (a terminal's output). */
function plainText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
}

/** Why this machine cannot bind the IPv6 loopback, or undefined when it can. */
async function ipv6LoopbackProblem(): Promise<string | undefined> {
  const probe = createNetServer();
  return new Promise((resolve) => {
    probe.once('error', (error) => resolve(`cannot listen on ::1 (${error.message}); the IPv6 banner test needs an IPv6 loopback`));
    probe.listen(0, '::1', () => probe.close(() => resolve(undefined)));
  });
}

/** A terminal's environment: no CI flag, a real TERM, so a spinner may run. */
const TERMINAL_ENV = { CI: undefined, TERM: 'xterm-256color' };
const inTerminal = requires('the terminal tests (under script)', terminalProblem());

inTerminal.describe('health --wait in a terminal ends by its deadline', () => {
  // `timeout -s KILL 12` bounds each run: a health that misses its deadline is killed and exits 137, not 1.
  // `; exit $?` keeps the shell from exec'ing timeout, which as the session's leader could not make a group of its own.
  it.each([
    ['a zero-column terminal, in the foreground', 'stty cols 0 rows 0; timeout --foreground -s KILL 12', false],
    ['the background (timeout gives its command a process group of its own)', 'stty cols 80 rows 24; timeout -s KILL 12', false],
    ['an 80-column terminal, in the foreground (the spinner runs)', 'stty cols 80 rows 24; timeout --foreground -s KILL 12', true],
  ])('%s: exits 1 with one error line', async (_name, prefix, spins) => {
    const port = await freedPort();
    const terminal = spawnInTerminal(`${prefix} ${SHELL_BIN} health --url http://127.0.0.1:${port} --wait 2; exit $?`, { env: TERMINAL_ENV });
    const result = await terminal.waitForExit(20_000);
    const text = plainText(result.stdout);
    expect(result.code, text).toBe(1);
    expect(text).toMatch(new RegExp(`error: no server answered at http://127\\.0\\.0\\.1:${port}/health .* after waiting 2s`));
    // The spinner's text shows it ran; where it must not, nothing but the error line is written.
    expect(text.includes('waiting for'), text).toBe(spins);
  });
});

describe('a closed stdout ends the process quietly', () => {
  it.each([[['--help']], [['--version']], [['health', '--help']], [['serve', '--help']]])(
    '%j closed after the first line: exit 0, nothing on stderr (5 times)',
    async (args) => {
      for (let run = 0; run < 5; run++) {
        const result = await spawnCli(args, { closeStdout: 'after-first-line' }).waitForExit();
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
      }
    },
  );

  it.each([
    [['--help'], 0],
    [['--version'], 0],
    [['token', 'alice', '--token-secret', 'a-long-enough-test-secret'], 0],
    [['health', '--json', '--url', 'http://127.0.0.1:9/peerjs'], 1],
  ])('%j closed before anything is written: exit %i, no stack trace', async (args, code) => {
    const result = await spawnCli(args, { closeStdout: 'at-once' }).waitForExit();
    expect(result.stderr).not.toMatch(/EPIPE|\n\s+at /);
    expect(result.code).toBe(code);
  });

  it('`peer-signal --help | head -1` in a shell: exit 0, no stack trace (5 times)', async () => {
    for (let run = 0; run < 5; run++) {
      const result = await runCli([], { exec: ['sh', '-c', `{ ${SHELL_BIN} --help; echo "status=$?" >&2; } | head -1`] });
      expect(result.stdout).toMatch(/^Usage: peer-signal/);
      expect(result.stderr).toBe('status=0\n');
    }
  });
});

inTerminal.describe('the banner on a terminal', () => {
  /** Starts a server in a terminal and returns what it printed, escapes included, once the banner is complete. */
  async function rawBanner(args: string, env: Record<string, string> = {}): Promise<string> {
    const server = spawnInTerminal(`exec timeout --foreground -s KILL 60 ${SHELL_BIN} --port 0 ${args}`, { env: { ...TERMINAL_ENV, ...env } });
    await server.waitForLine((line) => line.includes('Press Ctrl-C'));
    return server.stdout;
  }

  /** Starts a server in a terminal and returns its banner, once printed. */
  async function banner(args: string): Promise<string> {
    return plainText(await rawBanner(args));
  }

  it.each([
    ['in colour by default', '', {}, true],
    ['without escapes with --no-color', '--no-color', {}, false],
    ['without escapes with NO_COLOR=1', '', { NO_COLOR: '1' }, false],
  ])('is %s', async (_name, args, env: Record<string, string>, coloured) => {
    const raw = await rawBanner(`--host 127.0.0.1 ${args}`, env);
    const text = plainText(raw);
    expect(text).toMatch(/peer-signal v\S+ ready/);
    expect(text).toMatch(/HTTP\s+http:\/\/127\.0\.0\.1:\d+\/peerjs/);
    expect(text).toContain("new Peer({ host: '127.0.0.1', port: ");
    if (coloured) expect(raw).toMatch(/\u001b\[3\dm/);
    else expect(raw).not.toMatch(ANSI);
  });

  it('brackets an IPv6 host (-H ::1) in its URLs and in the new Peer(...) snippet', async (context) => {
    skipUnless(context, await ipv6LoopbackProblem());
    const text = await banner('-H ::1');
    const port = /http:\/\/\[::1\]:(\d+)\/peerjs/.exec(text)?.[1];
    expect(port, text).toBeDefined();
    expect(text).toContain(`ws://[::1]:${port}/peerjs/peerjs`);
    expect(text).toContain(`new Peer({ host: '[::1]', port: ${port}, path: '/peerjs', key: 'peerjs' })`);
    expect(text).not.toMatch(/reachable from other machines/i);
  });

  it('bound to all interfaces (0.0.0.0), lists each network URL and says it is reachable from other machines', async () => {
    const text = await banner('-H 0.0.0.0');
    const port = /Local\s+http:\/\/127\.0\.0\.1:(\d+)\/peerjs/.exec(text)?.[1];
    expect(port, text).toBeDefined();
    expect(text).toMatch(/reachable from other machines/i);
    const addresses = Object.values(networkInterfaces())
      .flat()
      .filter((entry) => entry !== undefined && !entry.internal && entry.family === 'IPv4')
      .map((entry) => entry!.address);
    for (const address of addresses) expect(text).toMatch(new RegExp(`Network\\s+http://${address.replace(/\./g, '\\.')}:${port}/peerjs`));
  });

  it('with --quiet prints only the plain listening line', async () => {
    const server = spawnInTerminal(`exec timeout --foreground -s KILL 60 ${SHELL_BIN} --port 0 --host 127.0.0.1 -q`, { env: TERMINAL_ENV });
    const line = await server.waitForLine((text) => text.includes('listening'));
    expect(plainText(line)).toMatch(LISTENING_LINE);
    expect(plainText(server.stdout).trim()).toBe(plainText(line).trim());
  });
});

describe('warnings: one stderr line, and the server starts anyway', () => {
  it.each([
    ['--alive-timeout 3000', ['--alive-timeout', '3000'], {}, /^warning: --alive-timeout 3000 is shorter than the peerjs client's 5000 ms heartbeat/],
    ['PEER_SIGNAL_ALIVE_TIMEOUT=1000', [], { PEER_SIGNAL_ALIVE_TIMEOUT: '1000' }, /^warning: PEER_SIGNAL_ALIVE_TIMEOUT 1000 is shorter/],
    ['--redis-optional without --redis', ['--redis-optional'], {}, /^warning: --redis-optional does nothing without --redis/],
  ])('%s', async (_name, args: string[], env: Record<string, string>, expected: RegExp) => {
    const server = await startServer(args, { env });
    server.process.signal('SIGTERM');
    const result = await server.process.waitForExit();
    expect(result.code).toBe(0);
    const warnings = stderrLines(result).filter((line) => line.startsWith('warning:'));
    expect(warnings, result.stderr).toHaveLength(1);
    expect(warnings[0]).toMatch(expected);
  });

  it('none with --quiet, and none for --alive-timeout 5000', async () => {
    const servers = await Promise.all([startServer(['--alive-timeout', '1000', '-q']), startServer(['--alive-timeout', '5000'])]);
    for (const server of servers) server.process.signal('SIGTERM');
    for (const server of servers) expect((await server.process.waitForExit()).stderr).not.toMatch(/warning/);
  });
});

describe('switches take the official docs\' optional true/false', () => {
  it.each([
    ['--allow-discovery true', ['--allow-discovery', 'true'], {}, true],
    ['--allow-discovery false', ['--allow-discovery', 'false'], {}, false],
    ['--allow_discovery true', ['--allow_discovery', 'true'], {}, true],
    ['--allow_discovery false', ['--allow_discovery', 'false'], {}, false],
    ['--allow-discovery off beats ALLOW_DISCOVERY=on', ['--allow-discovery', 'off'], { ALLOW_DISCOVERY: 'on' }, false],
    ['--allow-discovery before another flag', ['--allow-discovery', '--key', 'k3y'], {}, true],
  ])('%s', async (_name, args: string[], env: Record<string, string>, on: boolean) => {
    const server = await startServer(args, { env });
    const key = args.includes('k3y') ? 'k3y' : 'peerjs';
    const answer = await httpGet(`${server.url}/${key}/peers`);
    expect(answer.status === 200).toBe(on);
  });

  it.each([
    ['--proxied true', ['--proxied', 'true'], '203.0.113.9'],
    ['--proxied (bare)', ['--proxied'], '203.0.113.9'],
    ['--proxied false', ['--proxied', 'false'], '127.0.0.1'],
  ])('%s', async (_name, args: string[], ip: string) => {
    const server = await startServer(args);
    await connectPeer(server.url, 'a', { headers: { 'x-forwarded-for': '203.0.113.9' } });
    const stderr = await server.process.waitForStderr(/peer connected/);
    expect(stderr).toMatch(new RegExp(`peer connected id=a ip=${ip.replace(/\./g, '\\.')}\\n`));
  });

  it('--proxied maybe is a usage error naming the flag', async () => {
    const result = await runCli(['--proxied', 'maybe', '--port', '0', '--host', '127.0.0.1']);
    expect(expectOneErrorLine(result)).toMatch(/--proxied.*maybe.*true\/false/);
    expect(result.code).toBe(2);
  });
});

describe('origin lists from flags and the environment (space- or comma-separated, wildcards)', () => {
  /** The Access-Control-Allow-Origin that GET {prefix}/id answers a request from `origin` with (null: none). */
  async function corsAnswer(url: string, origin: string): Promise<string | null> {
    const response = await fetch(`${url}/peerjs/id`, { headers: { origin } });
    await response.text();
    return response.headers.get('access-control-allow-origin');
  }

  /** 'open', or the HTTP status that refused the upgrade from `origin`. */
  async function upgradeAnswer(url: string, origin: string): Promise<number | 'open'> {
    const peer = connectRaw(socketUrl(url, { key: 'peerjs', id: `p${Math.random().toString(36).slice(2, 10)}`, token: 't' }), { origin });
    const answer = await within(
      new Promise<number | 'open'>((resolve) => {
        peer.ws.once('open', () => resolve('open'));
        peer.ws.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      }),
      EXIT_TIMEOUT_MS,
      `the upgrade from ${origin}`,
    );
    peer.ws.terminate();
    return answer;
  }

  it.each([
    ['--cors with two arguments', ['--cors', 'https://a.example', 'https://*.b.example'], {}],
    ['--cors with a comma-separated list', ['--cors', 'https://a.example,https://*.b.example'], {}],
    ['PEER_SIGNAL_CORS, space-separated', [], { PEER_SIGNAL_CORS: 'https://a.example https://*.b.example' }],
    ['PEER_SIGNAL_CORS, comma-and-space-separated', [], { PEER_SIGNAL_CORS: 'https://a.example, https://*.b.example' }],
  ])('%s: CORS answers the listed origins only', async (_name, args: string[], env: Record<string, string>) => {
    const server = await startServer(args, { env });
    expect(await corsAnswer(server.url, 'https://a.example')).toBe('https://a.example');
    expect(await corsAnswer(server.url, 'https://app.b.example')).toBe('https://app.b.example');
    // A subdomain wildcard leaves the domain itself out.
    expect(await corsAnswer(server.url, 'https://b.example')).toBeNull();
    expect(await corsAnswer(server.url, 'https://c.example')).toBeNull();
    // The WebSocket is not CORS's business: any Origin may upgrade.
    expect(await upgradeAnswer(server.url, 'https://c.example')).toBe('open');
  });

  it.each([
    ['--allowed-origins with two arguments', ['--allowed-origins', 'http://localhost:*', 'https://app.example'], {}],
    ['PEER_SIGNAL_ALLOWED_ORIGINS, comma-separated', [], { PEER_SIGNAL_ALLOWED_ORIGINS: 'http://localhost:*,https://app.example' }],
  ])('%s: only the listed origins may open a WebSocket (403 otherwise)', async (_name, args: string[], env: Record<string, string>) => {
    const server = await startServer(args, { env });
    expect(await upgradeAnswer(server.url, 'http://localhost:5173')).toBe('open');
    expect(await upgradeAnswer(server.url, 'https://app.example')).toBe('open');
    expect(await upgradeAnswer(server.url, 'https://evil.example')).toBe(403);
    expect(await upgradeAnswer(server.url, 'http://localhost.evil.example')).toBe(403);
    // Separate from HTTP CORS, which still reflects any origin.
    expect(await corsAnswer(server.url, 'https://evil.example')).toBe('https://evil.example');
  });
});

describe('peers and an admin token', () => {
  const adminToken = 'admin-token-0123456789';

  it.each([
    ['a wrong --admin-token', ['--admin-token', 'wrong-token-0123456789'], {}, /refused the admin token from --admin-token/],
    ['a wrong PEER_SIGNAL_ADMIN_TOKEN', [], { PEER_SIGNAL_ADMIN_TOKEN: 'wrong-token-0123456789' }, /refused the admin token from PEER_SIGNAL_ADMIN_TOKEN/],
    ['no token', [], {}, /needs an admin token.*--admin-token/],
  ])('%s', async (_name, args: string[], env: Record<string, string>, expected: RegExp) => {
    const server = await startServer(['--allow-discovery', '--admin-token', adminToken]);
    const result = await runCli(['peers', '--url', server.url, ...args], { env });
    const line = expectOneErrorLine(result);
    expect(line).toMatch(expected);
    expect(line).not.toContain('wrong-token');
    expect(result.code).toBe(1);
  });
});

describe('health and peers given only the origin of a server with a custom path', () => {
  it('health --url http://host:port reaches a server started with --path /signal', async () => {
    const server = await startServer(['--path', '/signal']);
    const result = await runCli(['health', '--url', `http://127.0.0.1:${server.port}`]);
    expect(result.code, result.stderr).toBe(0);
  });

  it('health with a path the server does not have says so, not "start a server"', async () => {
    const server = await startServer(['--path', '/signal']);
    const result = await runCli(['health', '--url', `http://127.0.0.1:${server.port}/wrong`]);
    const line = expectOneErrorLine(result);
    expect(line).toMatch(/HTTP 404/);
    expect(line).not.toMatch(/start a server/);
    expect(result.code).toBe(1);
  });

  it('peers finds the path of a server started with --path / from its info document', async () => {
    const server = await startServer(['--path', '/', '--allow-discovery']);
    await connectPeer(server.url, 'alice');
    const result = await runCli(['peers', '--url', `http://127.0.0.1:${server.port}`]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('alice\n');
  });

  it('peers given the bare origin of a server with --path /signal finds the path from the root document', async () => {
    const server = await startServer(['--path', '/signal', '--allow-discovery']);
    const origin = `http://127.0.0.1:${server.port}`;
    const result = await runCli(['peers', '--json', '--url', origin]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([]);
  });

  it('peers given an origin where no peer-signal answers says exactly what to pass, not "start a server"', async () => {
    // A plain HTTP server that answers 404 to everything: a server, but not one that describes its path.
    const other = createServer((_request, response) => response.writeHead(404).end());
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      const origin = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
      const result = await runCli(['peers', '--url', origin]);
      const line = expectOneErrorLine(result);
      expect(line).toContain(`--url ${origin}/<path>`);
      expect(line).not.toMatch(/start (a server|one)/);
      expect(result.code).toBe(1);
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });
});

describe('peers --json reports failures as JSON', () => {
  it('discovery off: {"url","error"} on stdout, exit 1', async () => {
    const server = await startServer();
    const result = await runCli(['peers', '--json', '--url', server.url]);
    expect(result.code).toBe(1);
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ url: server.url, error: expect.stringMatching(/--allow-discovery/) });
  });

  it('nothing listening: {"url","error"} on stdout, exit 1', async () => {
    const port = await freedPort();
    const result = await runCli(['peers', '--json', '--url', `http://127.0.0.1:${port}/peerjs`]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ url: `http://127.0.0.1:${port}/peerjs`, error: expect.stringMatching(/no server answered/) });
  });
});

describe('log lines', () => {
  const ISO = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';

  it('start with an ISO timestamp and show an IPv4 client on a dual-stack listener as plain IPv4', async () => {
    const server = spawnCli(['--port', '0', '--host', '::']);
    const { port } = await readListening(server);
    await connectPeer(`http://127.0.0.1:${port}/peerjs`, 'a');
    const stderr = await server.waitForStderr(/peer connected/);
    expect(stderr).toMatch(new RegExp(`^${ISO} info  peer connected id=a ip=127\\.0\\.0\\.1$`, 'm'));
    expect(stderr).not.toContain('::ffff:');
  });

  it.each([
    ['--log-time off', ['--log-time', 'off'], {}],
    ['PEER_SIGNAL_LOG_TIME=off', [], { PEER_SIGNAL_LOG_TIME: 'off' }],
  ])('%s leaves the timestamp out', async (_name, args: string[], env: Record<string, string>) => {
    const server = await startServer(args, { env });
    await connectPeer(server.url, 'a');
    const stderr = await server.process.waitForStderr(/peer connected/);
    expect(stderr).toMatch(/^info  peer connected id=a ip=127\.0\.0\.1$/m);
  });

  it.each([
    ['--log-level silent', ['--log-level', 'silent'], {}],
    ['PEER_SIGNAL_LOG_LEVEL=silent', [], { PEER_SIGNAL_LOG_LEVEL: 'silent' }],
  ])('%s writes no log line at all, warnings and refusals included', async (_name, args: string[], env: Record<string, string>) => {
    const server = await startServer([...args, '--rate-limit', '1', '--rate-burst', '1'], { env });
    const peer = await connectPeer(server.url, 'a');
    // Refused (logged at info), and rate limited (logged at warn).
    const refused = connectRaw(socketUrl(server.url, { key: 'wrong', id: 'b', token: 't' }));
    expect((await refused.next()).type).toBe('ERROR');
    const flooder = await connectPeer(server.url, 'f');
    for (let i = 0; i < 5; i++) flooder.send({ type: 'HEARTBEAT' });
    expect((await within(flooder.closed, EXIT_TIMEOUT_MS, 'the rate-limited peer to be closed')).code).toBe(1008);
    peer.ws.close();
    await peer.closed;
    // Shutdown flushes whatever log lines are pending: all of them are in stderr once the process has exited.
    server.process.signal('SIGTERM');
    const result = await server.process.waitForExit();
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`peer-signal listening on ${server.url}\n`);
    // Only the shutdown notice, which is no log line (the CLI's own word about a signal).
    expect(stderrLines(result)).toEqual([expect.stringMatching(/^peer-signal: SIGTERM received, shutting down/)]);
  });

  it('-q logs nothing but errors', async () => {
    const server = await startServer(['-q']);
    const peer = await connectPeer(server.url, 'a');
    peer.ws.close();
    await peer.closed;
    // A second connection shows the first one's lines would have been written by now.
    await connectPeer(server.url, 'b');
    server.process.signal('SIGTERM');
    const result = await server.process.waitForExit();
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`peer-signal listening on ${server.url}\n`);
    expect(result.stderr).toBe('');
  });
});

describe('help', () => {
  it('--help groups the server options: basic, client protocol, security, limits, cluster, output, testing, TLS', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    const headings = result.stdout.split('\n').filter((line) => / Options:$/.test(line));
    expect(headings).toEqual([
      'Basic Options:',
      'Client Protocol Options:',
      'Security Options:',
      'Limits Options:',
      'Cluster Options:',
      'Output Options:',
      'Testing Options:',
      'TLS Options:',
    ]);
  });

  it.each([['serve'], ['health'], ['peers'], ['token']])('%s --help ends with examples of that command', async (name) => {
    const result = await runCli([name, '--help']);
    expect(result.code).toBe(0);
    const examples = result.stdout.slice(result.stdout.lastIndexOf('\nExamples:\n'));
    expect(examples, result.stdout).toMatch(/^\nExamples:\n/);
    const commands = examples.split('\n').filter((line) => line.startsWith('  ') && !line.startsWith('  #'));
    expect(commands.length).toBeGreaterThanOrEqual(2);
    if (name !== 'serve') for (const line of commands) expect(line).toContain(`peer-signal ${name}`);
  });
});
