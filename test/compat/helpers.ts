// What the compat tests share: an app's HTTP server on a free loopback port, PeerJS ws clients by path, bounded closing.
import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connectRaw, type TestClient } from '../support/peer-client.js';

export interface RunningApp {
  readonly server: Server;
  readonly port: number;
  /** `http://127.0.0.1:{port}{path}` */
  url(path: string): string;
  /** Stops the HTTP server, cutting its connections. */
  close(): Promise<void>;
}

/** An http.Server for `listener` (or none yet: attach one later with server.on('request')), listening on 127.0.0.1:0. */
export async function listenApp(listener?: RequestListener, server: Server = createServer(listener)): Promise<RunningApp> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A PeerJS client on `ws://127.0.0.1:{port}{socketPath}`, once it has its OPEN. */
export async function openPeer(port: number, socketPath: string, id: string, key = 'peerjs'): Promise<TestClient> {
  const client = connectRaw(`ws://127.0.0.1:${port}${socketPath}?key=${key}&id=${id}&token=token-${id}`);
  const first = await client.next(5000);
  if (first.type !== 'OPEN') throw new Error(`expected OPEN for ${id} at ${socketPath}, got ${JSON.stringify(first)}`);
  return client;
}

/** What an upgrade to `url` gets: `open`, or the HTTP status of the refusal, or `closed` when the socket just ended. */
export function upgradeOutcome(url: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const client = connectRaw(url);
    const timer = setTimeout(() => {
      client.ws.terminate();
      resolve('hanging');
    }, timeoutMs);
    const settle = (outcome: string): void => {
      clearTimeout(timer);
      client.ws.terminate();
      resolve(outcome);
    };
    client.ws.once('open', () => settle('open'));
    client.ws.once('unexpected-response', (_request, response) => settle(String(response.statusCode)));
    client.ws.once('error', () => settle('closed'));
  });
}
