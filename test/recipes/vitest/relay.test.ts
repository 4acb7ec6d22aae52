// relay.test.ts: two peers on raw WebSockets; the server relays alice's OFFER to bob
import { once } from 'node:events';
import { expect, inject, test } from 'vitest';
import WebSocket from 'ws';

/** Connects as `id` with the PeerJS query (key, id, token). */
const connect = (id: string) => new WebSocket(`${inject('signalWsUrl')}?key=peerjs&id=${id}&token=${id}-token`);
/** The next message on `socket`, parsed. */
const next = (socket: WebSocket) => once(socket, 'message').then(([data]) => JSON.parse(String(data)));

test('the server relays an OFFER from alice to bob', async () => {
  const alice = connect('alice');
  const bob = connect('bob');
  expect(await Promise.all([next(alice), next(bob)])).toEqual([{ type: 'OPEN' }, { type: 'OPEN' }]);

  const received = next(bob);
  alice.send(JSON.stringify({ type: 'OFFER', dst: 'bob', payload: { type: 'data', sdp: { type: 'offer', sdp: 'v=0' } } }));
  expect(await received).toMatchObject({ type: 'OFFER', src: 'alice', dst: 'bob', payload: { type: 'data' } });

  alice.close();
  bob.close();
});
