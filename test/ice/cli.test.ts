// The built CLI: the ICE flags of serve, iceServersUrl in the listening line and ready file, `ice-servers` and `turn-config`.
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPeerToken } from '../../src/tokens.js';
import { ANSI, killAll, runCli, startServer, type StartedServer } from '../e2e/helpers.js';

const SECRET = 'cli-turn-secret-0123456789abcdef';
const TURN_ENV = { PEER_SIGNAL_TURN_SECRET: SECRET, PEER_SIGNAL_TURN_URLS: 'turn:turn.example.com:3478?transport=udp,turns:turn.example.com:443' };

afterEach(async () => {
  await killAll();
});

async function stop(server: StartedServer): Promise<{ stdout: string; stderr: string }> {
  server.process.signal('SIGTERM');
  const result = await server.process.waitForExit();
  expect(result.code).toBe(0);
  return result;
}

describe('serve with ICE servers', () => {
  it('puts iceServersUrl in the --json listening line and the ready file, and never prints the secret', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'peer-signal-ice-'));
    try {
      const ready = join(dir, 'ready.json');
      const server = await startServer(['--json', '--key', 'k1', '--ready-file', ready, '--log-level', 'debug'], { env: TURN_ENV });
      const listening = JSON.parse(server.line) as Record<string, unknown>;
      expect(listening.iceServersUrl).toBe(`${server.url}/k1/ice-servers`);
      expect(JSON.parse(readFileSync(ready, 'utf8'))).toEqual(listening);
      const response = await fetch(`${listening.iceServersUrl as string}?id=alice`);
      expect(response.status).toBe(200);
      const { stdout, stderr } = await stop(server);
      expect(stdout + stderr).not.toContain(SECRET);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has no iceServersUrl without ICE servers', async () => {
    const server = await startServer(['--json']);
    expect(JSON.parse(server.line)).not.toHaveProperty('iceServersUrl');
    await stop(server);
  });

  it.each([
    [['--turn-secret', SECRET], /^error: --turn-secret needs --turn-urls too: add the URLs of the TURN server/],
    [['--turn-urls', 'turn:x.example.com'], /^error: --turn-urls needs --turn-secret too/],
    [['--turn-urls', 'turn://x.example.com', '--turn-secret', SECRET], /without "\/\/"/],
    [['--stun-urls', 'turn:x.example.com'], /does not start with stun: or stuns:/],
    [['--turn-secret', 'short', '--turn-urls', 'turn:x'], /^error: --turn-secret \(or PEER_SIGNAL_TURN_SECRET\) must be at least 16 characters/],
    [['--turn-ttl', '30s'], /--turn-ttl.*from 60 s to 604800 s/],
  ])('refuses %j with exit code 2 and one error line', async (args, message) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).not.toContain(SECRET);
  });

  it('names the variable a refused value came from', async () => {
    const result = await runCli([], { env: { PEER_SIGNAL_TURN_SECRET: SECRET } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: PEER_SIGNAL_TURN_SECRET needs --turn-urls too/);
  });

  it('takes --turn-ttl with units', async () => {
    const server = await startServer(['--turn-ttl', '15m'], { env: TURN_ENV });
    const body = (await (await fetch(`${server.url}/peerjs/ice-servers`)).json()) as { ttl: number };
    expect(body.ttl).toBe(900);
    await stop(server);
  });
});

describe('peer-signal ice-servers', () => {
  it('--json prints what the route returns', async () => {
    const server = await startServer(['--stun-urls', 'stun:stun.example.com'], { env: TURN_ENV });
    const result = await runCli(['ice-servers', '--url', server.url, '--id', 'alice', '--json']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    const body = JSON.parse(result.stdout) as { iceServers: Array<{ urls: string[]; username?: string; credential?: string }>; ttl: number };
    expect(body.ttl).toBe(3600);
    expect(body.iceServers[0]).toEqual({ urls: ['stun:stun.example.com'] });
    const turn = body.iceServers[1]!;
    expect(turn.username).toMatch(/^\d+:alice$/);
    expect(turn.credential).toBe(createHmac('sha1', SECRET).update(turn.username!).digest('base64'));
    await stop(server);
  });

  it('prints one line per entry, credentials included, and the validity on stderr', async () => {
    const server = await startServer([], { env: TURN_ENV });
    const result = await runCli(['ice-servers', '--url', server.url]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^turn:turn\.example\.com:3478\?transport=udp turns:turn\.example\.com:443 {2}username=\d+:[0-9a-f-]{36} {2}credential=[A-Za-z0-9+/]{27}=\n$/);
    expect(result.stderr).toMatch(/^1 ICE server entry from http:\/\/127\.0\.0\.1:\d+\/peerjs\/peerjs\/ice-servers; the TURN credentials are valid for 3600 s/);
    expect(result.stdout + result.stderr).not.toMatch(ANSI);
    await stop(server);
  });

  it('takes the iceServersUrl of the listening line as --url, and a server found through HOST/PORT/API_KEY', async () => {
    const server = await startServer(['--json', '--key', 'sekret'], { env: TURN_ENV });
    const listening = JSON.parse(server.line) as { iceServersUrl: string; port: number };
    expect((await runCli(['ice-servers', '--url', listening.iceServersUrl])).code).toBe(0);
    const fromEnv = await runCli(['ice-servers'], { env: { HOST: '127.0.0.1', PORT: String(listening.port), API_KEY: 'sekret' } });
    expect(fromEnv.code).toBe(0);
    await stop(server);
  });

  it('passes --id and --token to a server started with --token-secret, and says what is missing without them', async () => {
    const tokenSecret = 'cli-token-secret-0123456789abcdef';
    const server = await startServer([], { env: { ...TURN_ENV, PEER_SIGNAL_TOKEN_SECRET: tokenSecret } });
    const token = createPeerToken('alice', tokenSecret);
    const granted = await runCli(['ice-servers', '--url', server.url, '--id', 'alice', '--token', token, '--json']);
    expect(granted.code).toBe(0);
    const refused = await runCli(['ice-servers', '--url', server.url, '--id', 'alice']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refused the request: no token for "alice"; add &token=TOKEN.*; pass --id and --token/);
    const forged = await runCli(['ice-servers', '--url', server.url, '--id', 'alice', '--token', createPeerToken('alice', `${tokenSecret}x`)]);
    expect(forged.code).toBe(1);
    expect(forged.stderr).toMatch(/the token for "alice" was not signed for this id/);
    // The token is a credential: not echoed in the error.
    expect(forged.stderr).not.toContain('v1.');
    await stop(server);
  });

  it('exits 1 for a server without ICE servers, saying what to start it with', async () => {
    const server = await startServer([]);
    const result = await runCli(['ice-servers', '--url', server.url]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/hands out no ICE servers; start it with --stun-urls/);
    await stop(server);
  });

  it('exits 1 for a wrong key, saying where the key goes', async () => {
    const server = await startServer(['--key', 'right'], { env: TURN_ENV });
    const result = await runCli(['ice-servers', '--url', server.url, '--key', 'nope']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/refused the request: invalid key.*pass the server's key with --key or API_KEY/);
    await stop(server);
  });

  it('exits 1 when no server answers, and --json prints {"url","error"}', async () => {
    const result = await runCli(['ice-servers', '--url', 'http://127.0.0.1:1/peerjs', '--json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({ url: 'http://127.0.0.1:1/peerjs/peerjs/ice-servers', error: expect.stringMatching(/no server answered .*ECONNREFUSED/) });
  });

  it('refuses an invalid --id with exit code 2', async () => {
    const result = await runCli(['ice-servers', '--id', '-x-']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: --id "-x-" is not a valid peer id/);
  });
});

describe('peer-signal turn-config', () => {
  it("prints coturn's lines from the server's own variables, the secret included", async () => {
    const result = await runCli(['turn-config'], { env: TURN_ENV });
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    expect(lines).toEqual([
      'use-auth-secret',
      `static-auth-secret=${SECRET}`,
      'realm=turn.example.com',
      'listening-port=3478',
      'tls-listening-port=443',
      'fingerprint',
    ]);
  });

  it('takes the same flags as serve, which win over the variables', async () => {
    const result = await runCli(['turn-config', '--turn-secret', `${SECRET}-flag`, '--turn-urls', 'turn:10.0.0.5:3479'], { env: TURN_ENV });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`static-auth-secret=${SECRET}-flag\n`);
    expect(result.stdout).toContain('realm=10.0.0.5\nlistening-port=3479\n');
    expect(result.stdout).not.toContain('tls-listening-port');
  });

  it('says in its help that it prints the secret', async () => {
    const result = await runCli(['turn-config', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/PRINTS THE\s+SECRET/);
    expect(result.stdout).toContain('PEER_SIGNAL_TURN_SECRET');
  });

  it.each([
    [{}, [], /^error: no TURN secret; pass --turn-secret or set PEER_SIGNAL_TURN_SECRET/],
    [{ PEER_SIGNAL_TURN_SECRET: SECRET }, [], /^error: PEER_SIGNAL_TURN_SECRET needs --turn-urls too/],
    [{}, ['--turn-secret', 'short', '--turn-urls', 'turn:x'], /at least 16 characters/],
  ])('exits 2 when the configuration would not start a server (%j %j)', async (env, args, message) => {
    const result = await runCli(['turn-config', ...args], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });
});
