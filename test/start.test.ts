// startSignalServer(): a server on a free loopback port in one call, with the client options, and a close() that leaves nothing.
import { describe, expect, it } from 'vitest';
import { startSignalServer } from '../src/start.js';
import { connectRaw } from './support/peer-client.js';

/** Handles and timers alive in this process, by kind (public since Node 17). */
function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

describe('startSignalServer', () => {
  it('listens on 127.0.0.1 with a free port and says how a peerjs client reaches it', async () => {
    const before = resources();
    const server = await startSignalServer({ key: 'my-app', path: '/signal' });
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/signal`);
    expect(server.wsUrl).toBe(`ws://127.0.0.1:${server.port}/signal/peerjs`);
    expect(server.client).toEqual({ host: '127.0.0.1', port: server.port, path: '/signal', key: 'my-app', secure: false });
    const peer = connectRaw(`${server.wsUrl}?key=my-app&id=alice&token=t`);
    expect(await peer.next()).toEqual({ type: 'OPEN' });
    const first = server.close();
    expect(server.close()).toStrictEqual(first);
    await first;
    expect(await peer.closed).toBe(1001);
    // Nothing of the server's stays behind (the unref'd timers included).
    await expect.poll(resources, { timeout: 5000 }).toEqual(before);
  });

  it('rejects with the listen error and leaves nothing listening', async () => {
    const taken = await startSignalServer();
    const error = await startSignalServer({ port: taken.port }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'PEER_SIGNAL_ERR_LISTEN' });
    await taken.close();
  });
});
