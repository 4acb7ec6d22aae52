// End-to-end tests of the built CLI (bin/peer-signal.js → dist/cli.js): output, config precedence, errors, commands, shutdown.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ANSI,
  BIN,
  EXIT_TIMEOUT_MS,
  ROOT,
  cleanup,
  closeNetServer,
  connectPeer,
  connectRaw,
  connectStuckPeer,
  freedPort,
  httpGet,
  occupyPort,
  runCli,
  socketUrl,
  spawnCli,
  startServer,
  stderrLines,
  within,
  type ExitResult,
} from './helpers.js';

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
    expect(first).toMatchObject({ event: 'listening', url: server.url, port: server.port });
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
    const output = result.stdout + result.stderr;
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
    ['ALLOW_DISCOVERY=maybe', SAFE, { ALLOW_DISCOVERY: 'maybe' }, /ALLOW_DISCOVERY.*maybe/],
    ['unknown flag --prot', ['--prot', '0', ...SAFE], {}, /--prot\b.*--port\b/],
    ['unknown command helth', ['helth', ...SAFE], {}, /helth.*\bhealth\b/],
    ['--ssl-key without --ssl-cert', ['--ssl-key', join(ROOT, 'package.json'), ...SAFE], {}, /--ssl-cert/],
    ['a missing certificate file', ['--ssl-key', '/nonexistent/peer-signal.key', '--ssl-cert', '/nonexistent/peer-signal.crt', ...SAFE], {}, /nonexistent/],
    ['--log-level loud', ['--log-level', 'loud', ...SAFE], {}, /loud/],
  ])('%s', async (_name, args: string[], env: Record<string, string>, mentions: RegExp) => {
    const result = await runCli(args, { env });
    const line = expectOneErrorLine(result);
    expect(line).toMatch(mentions);
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

const opensslAvailable = spawnSync('openssl', ['version']).status === 0;
if (!opensslAvailable) console.warn('notice: openssl not found; skipping the HTTPS end-to-end tests');

describe.skipIf(!opensslAvailable)('HTTPS', () => {
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
    const result = await runCli(['health', '--wait', '1', '--url', `http://127.0.0.1:${port}/peerjs`], {}, 6000);
    expect(result.code).toBe(1);
    expectOneErrorLine(result);
    expect(result.durationMs).toBeGreaterThanOrEqual(1000);
    expect(result.durationMs).toBeLessThan(4000);
  });
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
  it('SIGTERM closes connected peers with 1001 and exits 0 within 5 s', async () => {
    const server = await startServer();
    const peers = await Promise.all([connectPeer(server.url, 'a'), connectPeer(server.url, 'b')]);
    const signalledAt = Date.now();
    server.process.signal('SIGTERM');
    const result = await server.process.waitForExit(EXIT_TIMEOUT_MS + 1000);
    const closes = await within(Promise.all(peers.map((peer) => peer.closed)), 1000, 'waiting for the peers to close');
    expect(closes.map((close) => close.code)).toEqual([1001, 1001]);
    expect(result.code).toBe(0);
    expect(result.signal).toBeNull();
    expect(Date.now() - signalledAt).toBeLessThan(5000);
    expect(result.stderr).toMatch(/shutting down/i);
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
