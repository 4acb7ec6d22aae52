// The admin routes over a real server: behind --admin-token, disconnect a peer (4002), and faults PUT/GET/DELETE that really drop and delay relays.
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { serverPerTest } from '../support/server-per-test.js';
import type { TestClient, WireMessage } from '../support/peer-client.js';

const adminToken = 'admin-token-0123456789';
const SPEC = { drop: { CANDIDATE: 0.5 }, delayMs: { OFFER: 200 }, seed: 1 };
const NO_FAULTS = { faults: { drop: {}, delayMs: {} } };

const servers = serverPerTest();

interface Answer {
  status: number;
  allow: string | null;
  body: Record<string, unknown>;
}

/** `method {prefix}/admin/{route}` with the admin token (or `authorization`, or none when null). */
async function admin(method: string, route: string, { body, authorization = `Bearer ${adminToken}` }: { body?: string; authorization?: string | null } = {}): Promise<Answer> {
  const { port } = servers.server.address()!;
  const prefix = servers.server.config.path === '/' ? '' : servers.server.config.path;
  const headers: Record<string, string> = authorization === null ? {} : { authorization };
  const response = await fetch(`http://127.0.0.1:${port}${prefix}/admin/${route}`, { method, headers, body });
  return { status: response.status, allow: response.headers.get('allow'), body: (await response.json()) as Record<string, unknown> };
}

const putFaults = (spec: unknown): Promise<Answer> => admin('PUT', 'faults', { body: JSON.stringify(spec) });

function start(config: Partial<Config> = {}): Promise<unknown> {
  return servers.start({ adminToken, ...config });
}

/** Frames `to` receives until (and without) the first of type `until`. */
async function framesBefore(to: TestClient, until: string): Promise<WireMessage[]> {
  const frames: WireMessage[] = [];
  for (let frame = await to.next(5000); frame.type !== until; frame = await to.next(5000)) frames.push(frame);
  return frames;
}

const ROUTES = [
  ['GET', 'faults'],
  ['PUT', 'faults'],
  ['DELETE', 'faults'],
  ['POST', 'peers/alice/disconnect'],
] as const;

describe('without --admin-token', () => {
  it.each(ROUTES)('%s admin/%s is a 404, with or without a bearer', async (method, route) => {
    await servers.start();
    const alice = await servers.peer('alice');
    for (const authorization of [null, `Bearer ${adminToken}`]) {
      const answer = await admin(method, route, { authorization, body: method === 'PUT' ? JSON.stringify(SPEC) : undefined });
      expect(answer.status).toBe(404);
    }
    expect(alice.ws.readyState).toBe(alice.ws.OPEN);
  });
});

describe('the admin token', () => {
  it.each(ROUTES.flatMap(([method, route]) => [
    [method, route, 'no Authorization', null],
    [method, route, 'a wrong bearer', 'Bearer wrong-token-0123456789'],
  ]))('%s admin/%s with %s: 401, and nothing done', async (method, route, _name, authorization) => {
    await start();
    const alice = await servers.peer('alice');
    expect((await putFaults(SPEC)).status).toBe(200);
    const answer = await admin(method, route, { authorization, body: method === 'PUT' ? '{}' : undefined });
    expect(answer.status).toBe(401);
    expect(answer.body.error).toEqual(expect.any(String));
    expect(answer.body.error).not.toContain('wrong-token');
    expect((await admin('GET', 'faults')).body).toEqual({ faults: SPEC });
    expect(alice.ws.readyState).toBe(alice.ws.OPEN);
  });
});

describe('POST admin/peers/{id}/disconnect', () => {
  it('closes the peer’s socket with 4002 and frees its id', async () => {
    await start();
    const alice = await servers.peer('alice');
    const bob = await servers.peer('bob');
    const answer = await admin('POST', 'peers/alice/disconnect');
    expect(answer).toMatchObject({ status: 200, body: { disconnected: 'alice' } });
    expect(await alice.closed).toBe(4002);
    // Another client (another token) may take the id at once; bob was left alone.
    await servers.peer('alice', 'another-token');
    expect(bob.ws.readyState).toBe(bob.ws.OPEN);
  });

  it('404 naming the id when no peer holds it', async () => {
    await start();
    const answer = await admin('POST', 'peers/nobody/disconnect');
    expect(answer.status).toBe(404);
    expect(answer.body.error).toMatch(/"nobody"/);
  });

  it('405 with Allow: POST for another method', async () => {
    await start();
    const alice = await servers.peer('alice');
    const answer = await admin('GET', 'peers/alice/disconnect');
    expect(answer).toMatchObject({ status: 405, allow: 'POST' });
    expect(alice.ws.readyState).toBe(alice.ws.OPEN);
  });

  it('sits below --path', async () => {
    await start({ path: '/signal' });
    await servers.peer('alice');
    expect((await admin('POST', 'peers/alice/disconnect')).status).toBe(200);
  });
});

describe('admin/faults', () => {
  it('PUT sets, GET shows, DELETE clears', async () => {
    await start();
    expect(await admin('GET', 'faults')).toMatchObject({ status: 200, body: NO_FAULTS });
    expect(await putFaults(SPEC)).toMatchObject({ status: 200, body: { faults: SPEC } });
    expect(await admin('GET', 'faults')).toMatchObject({ status: 200, body: { faults: SPEC } });
    // Zero entries are left out of the canonical form.
    expect((await putFaults({ drop: { CANDIDATE: 0, OFFER: 1 } })).body).toEqual({ faults: { drop: { OFFER: 1 }, delayMs: {} } });
    expect(await admin('DELETE', 'faults')).toMatchObject({ status: 200, body: NO_FAULTS });
    expect((await admin('GET', 'faults')).body).toEqual(NO_FAULTS);
  });

  it.each([
    ['an unknown message type', JSON.stringify({ drop: { FOO: 0.5 } }), /"FOO".*OFFER, ANSWER, CANDIDATE/],
    ['a probability of 2', JSON.stringify({ drop: { CANDIDATE: 2 } }), /"drop\.CANDIDATE" must be a probability from 0 to 1, got 2/],
    ['a delay over 60 s', JSON.stringify({ delayMs: { OFFER: 60_001 } }), /"delayMs\.OFFER" must be milliseconds from 0 to 60000/],
    ['a seed that is not an integer', JSON.stringify({ seed: 1.5 }), /"seed" must be an integer/],
    ['an unknown field', JSON.stringify({ dropp: { CANDIDATE: 1 } }), /unknown field "dropp"/],
    ['a body that is not JSON', 'drop CANDIDATE', /must be JSON/],
    ['an empty body', '', /must be JSON/],
    ['a JSON array', '[]', /JSON object/],
  ])('PUT with %s: 400 saying what is wrong; the faults in force stay', async (_name, body, message) => {
    await start();
    await putFaults(SPEC);
    const answer = await admin('PUT', 'faults', { body });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatch(message);
    expect((await admin('GET', 'faults')).body).toEqual({ faults: SPEC });
  });

  it('PUT with a body over 64 KiB: 413; the faults in force stay', async () => {
    await start();
    await putFaults(SPEC);
    const answer = await admin('PUT', 'faults', { body: JSON.stringify({ drop: {}, padding: 'x'.repeat(64 * 1024) }) });
    expect(answer.status).toBe(413);
    expect(answer.body.error).toMatch(/larger than 65536 bytes/);
    expect((await admin('GET', 'faults')).body).toEqual({ faults: SPEC });
  });

  it.each(['POST', 'PATCH'])('%s: 405 with Allow', async (method) => {
    await start();
    const answer = await admin(method, 'faults', { body: '{}' });
    expect(answer).toMatchObject({ status: 405, allow: 'GET, HEAD, PUT, DELETE' });
  });

  it('an unknown admin route: 404 naming the routes there are', async () => {
    await start();
    const answer = await admin('GET', 'fault');
    expect(answer.status).toBe(404);
    expect(answer.body.error).toMatch(/admin\/faults and admin\/peers\/\{id\}\/disconnect/);
  });
});

describe('faults set over HTTP act on relayed messages', () => {
  it('drop: a dropped CANDIDATE never arrives, the OFFER after it does; after DELETE candidates pass again', async () => {
    await start();
    const alice = await servers.peer('alice');
    const bob = await servers.peer('bob');
    await putFaults({ drop: { CANDIDATE: 1 } });
    alice.send({ type: 'CANDIDATE', dst: 'bob', payload: { candidate: 'c1' } });
    alice.send({ type: 'OFFER', dst: 'bob', payload: { sdp: 'o1' } });
    expect(await framesBefore(bob, 'OFFER')).toEqual([]);
    await admin('DELETE', 'faults');
    alice.send({ type: 'CANDIDATE', dst: 'bob', payload: { candidate: 'c2' } });
    expect(await bob.next()).toMatchObject({ type: 'CANDIDATE', src: 'alice', payload: { candidate: 'c2' } });
  });

  it('delay: an OFFER held for 1000 ms arrives after the ANSWER sent behind it, and no sooner than 1000 ms', async () => {
    await start();
    const alice = await servers.peer('alice');
    const bob = await servers.peer('bob');
    await putFaults({ delayMs: { OFFER: 1000 } });
    const sentAt = performance.now();
    alice.send({ type: 'OFFER', dst: 'bob', payload: { sdp: 'late' } });
    alice.send({ type: 'ANSWER', dst: 'bob', payload: { sdp: 'prompt' } });
    expect(await bob.next(5000)).toMatchObject({ type: 'ANSWER', payload: { sdp: 'prompt' } });
    expect(await bob.next(5000)).toMatchObject({ type: 'OFFER', payload: { sdp: 'late' } });
    expect(performance.now() - sentAt).toBeGreaterThanOrEqual(990);
  });

  it('seed: the same seed drops the same messages again', async () => {
    await start();
    const alice = await servers.peer('alice');
    const bob = await servers.peer('bob');
    const passed = async (): Promise<number[]> => {
      // Setting the spec again starts the seeded sequence over.
      await putFaults({ drop: { CANDIDATE: 0.5 }, seed: 7 });
      for (let n = 0; n < 16; n++) alice.send({ type: 'CANDIDATE', dst: 'bob', payload: { candidate: n } });
      alice.send({ type: 'OFFER', dst: 'bob', payload: { sdp: 'end' } });
      return (await framesBefore(bob, 'OFFER')).map((frame) => (frame.payload as { candidate: number }).candidate);
    };
    const first = await passed();
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(16);
    expect(await passed()).toEqual(first);
  });
});
