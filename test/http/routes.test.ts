// The HTTP API over a real server: health, info, id, peers, keys, CORS, 404/405, HEAD for readiness probes.
import { afterEach, describe, expect, it } from 'vitest';
import { createSignalServer, type SignalServer } from '../../src/server.js';
import type { Config } from '../../src/config.js';
import { closeAll, connectPeer, connectRaw, type TestClient } from '../support/peer-client.js';

let server: SignalServer | undefined;
const clients: TestClient[] = [];

async function start(config: Partial<Config> = {}): Promise<string> {
  server = createSignalServer({ host: '127.0.0.1', port: 0, ...config });
  await server.listen();
  return `http://127.0.0.1:${server.address()!.port}`;
}

afterEach(async () => {
  await closeAll(clients.splice(0));
  await server?.close();
  server = undefined;
});

describe('health and info', () => {
  it.each(['/', '/health', '/peerjs/health'])('GET %s answers 200 JSON with status, version, uptime and peers', async (path) => {
    const origin = await start();
    const response = await fetch(origin + path);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'ok', version: expect.any(String), uptime: expect.any(Number), peers: 0 });
  });

  it.each(['/', '/health', '/peerjs/health', '/peerjs/'])('HEAD %s answers 200 without a body', async (path) => {
    const origin = await start();
    const response = await fetch(origin + path, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });

  it('counts connected peers', async () => {
    const origin = await start();
    clients.push(await connectPeer(server!, 'a'), await connectPeer(server!, 'b'));
    const body = (await (await fetch(`${origin}/health`)).json()) as { peers: number };
    expect(body.peers).toBe(2);
  });

  it('GET {prefix}/ describes the server', async () => {
    const origin = await start();
    for (const path of ['/peerjs', '/peerjs/']) {
      const body = (await (await fetch(origin + path)).json()) as Record<string, unknown>;
      expect(body).toMatchObject({ name: 'peer-signal', protocol: 'peerjs', version: expect.any(String) });
    }
  });

  it.each([
    ['/peerjs', {}, '/peerjs/peerjs'],
    ['/signal', { path: '/signal' }, '/signal/peerjs'],
    ['/', { path: '/' }, '/peerjs'],
  ])('GET %s names the WebSocket path in its websocket field, and a peer opens there', async (info, config: Partial<Config>, websocket) => {
    const origin = await start(config);
    const body = (await (await fetch(origin + info)).json()) as Record<string, unknown>;
    expect(body.websocket).toBe(websocket);
    const peer = connectRaw(`ws://127.0.0.1:${server!.address()!.port}${websocket}?key=peerjs&id=alice&token=t`);
    clients.push(peer);
    expect(await peer.next()).toEqual({ type: 'OPEN' });
  });
});

describe('id', () => {
  it.each(['/peerjs/peerjs/id', '/peerjs/id', '/peerjs/peerjs/id?ts=16849175620.123'])('GET %s returns a fresh id as text/plain', async (path) => {
    const origin = await start();
    const response = await fetch(origin + path);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const id = await response.text();
    expect(id).toMatch(/^[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*$/);
    expect(await (await fetch(origin + path)).text()).not.toBe(id);
  });

  it('uses the configured path and key', async () => {
    const origin = await start({ path: '/signal', key: 'sekret' });
    expect((await fetch(`${origin}/signal/sekret/id`)).status).toBe(200);
    expect((await fetch(`${origin}/signal/peerjs/id`)).status).toBe(401);
    expect((await fetch(`${origin}/peerjs/sekret/id`)).status).toBe(404);
  });

  it('works with the root path', async () => {
    const origin = await start({ path: '/' });
    expect((await fetch(`${origin}/peerjs/id`)).status).toBe(200);
    expect((await fetch(`${origin}/id`)).status).toBe(200);
    const info = (await (await fetch(`${origin}/`)).json()) as Record<string, unknown>;
    expect(info).toMatchObject({ name: 'peer-signal', status: 'ok' });
  });
});

describe('peers', () => {
  it('lists connected ids when discovery is on, by path key and by query key', async () => {
    const origin = await start({ allowDiscovery: true });
    clients.push(await connectPeer(server!, 'alice'), await connectPeer(server!, 'bob'));
    for (const path of ['/peerjs/peerjs/peers', '/peerjs/peers?key=peerjs']) {
      const response = await fetch(origin + path);
      expect(response.status).toBe(200);
      expect(((await response.json()) as string[]).sort()).toEqual(['alice', 'bob']);
    }
  });

  it('answers 401 with how to enable it when discovery is off', async () => {
    const origin = await start();
    const response = await fetch(`${origin}/peerjs/peerjs/peers`);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toMatch(/--allow-discovery/);
  });

  it.each(['/peerjs/wrong/peers', '/peerjs/peers?key=wrong', '/peerjs/peers'])('answers 401 for a wrong or missing key: %s', async (path) => {
    const origin = await start({ allowDiscovery: true });
    clients.push(await connectPeer(server!, 'alice'));
    const response = await fetch(origin + path);
    expect(response.status).toBe(401);
    expect(JSON.stringify(await response.json())).not.toContain('alice');
  });
});

describe('admin token for the peer list', () => {
  const adminToken = 'admin-token-0123456789';

  // RFC 7235: the auth scheme is case-insensitive, and one or more spaces separate it from the token.
  it.each([
    `Bearer ${adminToken}`,
    `bearer ${adminToken}`,
    `BEARER ${adminToken}`,
    `bEaReR ${adminToken}`,
    `Bearer   ${adminToken}`,
    `bearer  ${adminToken}`,
  ])('accepts Authorization: %s', async (authorization) => {
    const origin = await start({ allowDiscovery: true, adminToken });
    const response = await fetch(`${origin}/peerjs/peerjs/peers`, { headers: { authorization } });
    expect(response.status).toBe(200);
  });

  it.each([
    ['no Authorization header', undefined],
    ['a wrong token', 'Bearer wrong-token-0123456789'],
    ['another scheme', `Basic ${adminToken}`],
    ['no space after the scheme', `Bearer${adminToken}`],
    ['a longer scheme', `Bearers ${adminToken}`],
    ['the scheme alone', 'Bearer'],
    ['the token alone', adminToken],
    ['text after the token', `Bearer ${adminToken} extra`],
  ])('refuses %s with 401 and WWW-Authenticate', async (_name, authorization) => {
    const origin = await start({ allowDiscovery: true, adminToken });
    const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
    const response = await fetch(`${origin}/peerjs/peerjs/peers`, { headers });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
  });
});

describe('errors and CORS', () => {
  it.each(['/nope', '/peerjs/peerjs', '/peerjs/peerjs/unknown', '/peerjs/a/b/c', '/%ZZ/id', '/peerjs/%ZZ/id'])('GET %s is a JSON 404', async (path) => {
    const origin = await start();
    const response = await fetch(origin + path);
    expect(response.status).toBe(404);
    expect(await response.json()).toHaveProperty('error');
  });

  it('answers 405 with Allow for other methods', async () => {
    const origin = await start();
    const response = await fetch(`${origin}/peerjs/peerjs/id`, { method: 'POST', body: 'x' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
  });

  it('reflects any origin by default and answers preflight', async () => {
    const origin = await start();
    const response = await fetch(`${origin}/peerjs/peerjs/id`, { headers: { origin: 'https://app.example' } });
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example');
    const preflight = await fetch(`${origin}/peerjs/peerjs/id`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-custom' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('GET');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('x-custom');
  });

  it('allows only the configured origins', async () => {
    const origin = await start({ cors: ['https://good.example'] });
    const good = await fetch(`${origin}/health`, { headers: { origin: 'https://good.example' } });
    expect(good.headers.get('access-control-allow-origin')).toBe('https://good.example');
    const bad = await fetch(`${origin}/health`, { headers: { origin: 'https://evil.example' } });
    expect(bad.headers.get('access-control-allow-origin')).toBeNull();
    const badPreflight = await fetch(`${origin}/health`, { method: 'OPTIONS', headers: { origin: 'https://evil.example' } });
    expect(badPreflight.headers.get('access-control-allow-methods')).toBeNull();
  });
});

describe('listen', () => {
  it('fails with PEER_SIGNAL_ERR_LISTEN and the OS code when the port is taken', async () => {
    await start();
    const port = server!.address()!.port;
    const second = createSignalServer({ host: '127.0.0.1', port });
    const error = await second.listen().then(
      () => undefined,
      (failure: unknown) => failure as { code: string; cause: { code: string }; message: string },
    );
    expect(error?.code).toBe('PEER_SIGNAL_ERR_LISTEN');
    expect(error?.cause.code).toBe('EADDRINUSE');
    expect(error?.message).toMatch(/--port 0/);
    await second.close();
  });

  it('close() while listen() is in flight leaves nothing listening', async () => {
    const racing = createSignalServer({ host: '127.0.0.1', port: 0 });
    const listening = racing.listen();
    await racing.close();
    await expect(listening).rejects.toMatchObject({ code: 'PEER_SIGNAL_ERR_LISTEN' });
    expect(racing.address()).toBeNull();
  });

  it('reports a URL with 127.0.0.1 when bound to all interfaces', async () => {
    server = createSignalServer({ port: 0 });
    const info = await server.listen();
    expect(info.url).toBe(`http://127.0.0.1:${info.port}/peerjs`);
    expect((await fetch(`http://127.0.0.1:${info.port}/health`)).status).toBe(200);
  });
});
