// two-peers.spec.ts: two pages of the app connect with peerjs and exchange a message over a DataConnection
import { expect, test, type Page } from '@playwright/test';

// Set by the webServer's `wait` pattern, by the globalSetup, or by `peer-signal run`.
const signal = new URL(process.env.PEER_SIGNAL_URL ?? 'http://127.0.0.1:9000/peerjs');
const client = { host: signal.hostname, port: Number(signal.port), path: signal.pathname, key: 'peerjs' };

/** Opens the app (any page that loads peerjs) and connects a peer with this id; it keeps what it receives. */
async function openPeer(page: Page, id: string): Promise<void> {
  await page.goto('/');
  await page.evaluate(
    ([id, client]) =>
      new Promise<void>((resolve, reject) => {
        const app = globalThis as any; // the page's window
        app.received = [];
        // No STUN or TURN server: both peers are on this machine.
        app.peer = new app.peerjs.Peer(id, { ...client, config: { iceServers: [] } });
        app.peer.on('connection', (connection: any) => connection.on('data', (data: unknown) => app.received.push(data)));
        app.peer.on('open', () => resolve());
        app.peer.on('error', (error: Error) => reject(error));
      }),
    [id, client] as const,
  );
}

test('two peers exchange a message over a DataConnection', async ({ browser }) => {
  const alice = await browser.newPage();
  const bob = await browser.newPage();
  await openPeer(alice, 'alice');
  await openPeer(bob, 'bob');

  // The OFFER, ANSWER and CANDIDATEs go through the signaling server; then the DataChannel opens.
  await alice.evaluate(() => {
    const app = globalThis as any;
    app.connection = app.peer.connect('bob');
    app.connection.on('open', () => app.connection.send('hello bob'));
  });
  const opened = () => alice.evaluate(() => (globalThis as any).connection.open);
  await expect.poll(opened, { message: 'the DataConnection from alice to bob opens', timeout: 10_000 }).toBe(true);
  await expect.poll(() => bob.evaluate(() => (globalThis as any).received)).toEqual(['hello bob']);
});
