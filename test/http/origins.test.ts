// Origin allow-lists: exact origins, "*", port and subdomain wildcards; refused patterns; CORS and the WebSocket Origin check over real sockets.
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { originMatcher, wildcardProblem } from '../../src/http/origins.js';
import { createSignalServer, type SignalServer } from '../../src/server.js';
import type { Config } from '../../src/config.js';
import { closeAll, socketUrl, type TestClient } from '../support/peer-client.js';

describe('originMatcher', () => {
  it.each([
    // [list, origin, allowed]
    [[], 'https://anything.example', true],
    [[], undefined, true],
    [['*'], 'https://anything.example', true],
    [['https://app.example.com'], 'https://app.example.com', true],
    [['https://app.example.com'], 'https://APP.example.com', true],
    [['https://app.example.com/'], 'https://app.example.com', true],
    [['https://app.example.com'], 'http://app.example.com', false],
    [['https://app.example.com'], 'https://app.example.com:8443', false],
    [['https://app.example.com'], undefined, false],
    [['https://app.example.com'], 'null', false],
    // A port wildcard: any port, or none, on that scheme and host only.
    [['http://localhost:*'], 'http://localhost:5173', true],
    [['http://localhost:*'], 'http://localhost', true],
    [['http://localhost:*'], 'https://localhost:5173', false],
    [['http://localhost:*'], 'http://localhost.evil.com:5173', false],
    [['http://[::1]:*'], 'http://[::1]:3000', true],
    // A subdomain wildcard: one or more labels in front, never the bare domain or a look-alike.
    [['https://*.example.com'], 'https://a.example.com', true],
    [['https://*.example.com'], 'https://a.b.example.com', true],
    [['https://*.example.com'], 'https://example.com', false],
    [['https://*.example.com'], 'https://evil-example.com', false],
    [['https://*.example.com'], 'https://a.example.com.evil.com', false],
    [['https://*.example.com'], 'http://a.example.com', false],
    [['https://*.example.com'], 'https://a.example.com:8443', false],
    [['https://*.example.com:*'], 'https://a.example.com:8443', true],
    [['https://*.example.com', 'http://localhost:*'], 'http://localhost:3000', true],
    [['https://*.example.com'], 'not an origin', false],
  ] as const)('%j allows %j: %s', (list, origin, allowed) => {
    expect(originMatcher(list)(origin)).toBe(allowed);
  });

  it('compiles a list once', () => {
    const list = Object.freeze(['https://*.example.com']);
    expect(originMatcher(list)).toBe(originMatcher(list));
  });
});

describe('wildcardProblem', () => {
  it.each(['*', 'https://app.example.com', 'http://localhost:*', 'https://*.example.com', 'https://*.example.com:*', 'http://[::1]:*'])(
    'accepts %s',
    (pattern) => {
      expect(wildcardProblem(pattern)).toBeUndefined();
    },
  );

  it.each(['https://app*.example.com', 'https://*', 'https://a.*.example.com', '*.example.com', '*://example.com', 'https://example.com:80*', 'https://*.*.com', 'https://**'])(
    'refuses %s with a hint',
    (pattern) => {
      const problem = wildcardProblem(pattern);
      expect(problem).toContain(pattern);
      expect(problem).toMatch(/https:\/\/\*\.example\.com/);
      expect(problem).toMatch(/http:\/\/localhost:\*/);
    },
  );
});

describe('wildcards over real sockets', () => {
  let server: SignalServer | undefined;
  const clients: TestClient[] = [];

  afterEach(async () => {
    await closeAll(clients.splice(0));
    await server?.close();
    server = undefined;
  });

  async function start(config: Partial<Config>): Promise<string> {
    server = createSignalServer({ host: '127.0.0.1', port: 0, ...config });
    await server.listen();
    return `http://127.0.0.1:${server.address()!.port}`;
  }

  /** The status of a WebSocket upgrade sent with this Origin: 101 when accepted. */
  function upgradeStatus(origin: string): Promise<number> {
    const ws = new WebSocket(socketUrl(server!, { key: 'peerjs', id: `p${Math.random().toString(36).slice(2)}`, token: 't' }), { origin });
    ws.on('error', () => {});
    return new Promise((resolve) => {
      ws.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      ws.on('upgrade', () => {
        clients.push({ ws, closed: new Promise((done) => ws.on('close', done)) } as unknown as TestClient);
        resolve(101);
      });
    });
  }

  it('--allowed-origins with a subdomain and a port wildcard admits what they match and refuses the rest with 403', async () => {
    await start({ allowedOrigins: ['https://*.example.com', 'http://localhost:*'] });
    expect(await upgradeStatus('https://a.example.com')).toBe(101);
    expect(await upgradeStatus('http://localhost:5173')).toBe(101);
    expect(await upgradeStatus('https://example.com')).toBe(403);
    expect(await upgradeStatus('https://evil-example.com')).toBe(403);
  });

  it('--cors with wildcards reflects only the origins they match', async () => {
    const origin = await start({ cors: ['https://*.example.com', 'http://localhost:*'] });
    const allowOrigin = async (from: string): Promise<string | null> =>
      (await fetch(`${origin}/health`, { headers: { origin: from } })).headers.get('access-control-allow-origin');
    expect(await allowOrigin('https://a.b.example.com')).toBe('https://a.b.example.com');
    expect(await allowOrigin('http://localhost:3000')).toBe('http://localhost:3000');
    expect(await allowOrigin('https://evil-example.com')).toBeNull();
  });
});
