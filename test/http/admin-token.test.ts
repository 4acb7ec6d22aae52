// The peer list behind --admin-token: a missing token and a wrong one both answer 401, each saying which it was.
import { afterEach, describe, expect, it } from 'vitest';
import { createSignalServer, type SignalServer } from '../../src/server.js';

const adminToken = 'admin-token-0123456789';
let server: SignalServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('admin token refusals', () => {
  it.each([
    ['no Authorization header', undefined, /requires an admin token/, /^Bearer realm="peer-signal"$/],
    ['another scheme', `Basic ${adminToken}`, /requires an admin token/, /^Bearer realm="peer-signal"$/],
    ['the scheme alone', 'Bearer', /requires an admin token/, /^Bearer realm="peer-signal"$/],
    ['a wrong token', 'Bearer wrong-token-0123456789', /admin token was refused/, /error="invalid_token"/],
    ['text after the token', `Bearer ${adminToken} extra`, /admin token was refused/, /error="invalid_token"/],
  ])('%s: 401 whose error says so', async (_name, authorization, error, challenge) => {
    server = createSignalServer({ host: '127.0.0.1', port: 0, allowDiscovery: true, adminToken });
    await server.listen();
    const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
    const response = await fetch(`http://127.0.0.1:${server.address()!.port}/peerjs/peerjs/peers`, { headers });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(challenge);
    const body = (await response.json()) as { error: string };
    expect(body.error).toMatch(error);
    expect(body.error).not.toContain('wrong-token');
  });
});
