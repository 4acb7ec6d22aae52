// One signaling server per test on 127.0.0.1 port 0: started on demand; its clients, then the server, closed after each test.
import { afterEach } from 'vitest';
import type { Config } from '../../src/config.js';
import { createSignalServer, type SignalServer, type SignalServerOptions } from '../../src/server.js';
import { closeAll, connectPeer, connectRaw, socketUrl, type TestClient } from './peer-client.js';

export interface ServerPerTest {
  /** The running server (throws before start()). */
  readonly server: SignalServer;
  start(config?: Partial<Config>, options?: SignalServerOptions): Promise<SignalServer>;
  /** A registered peer (waits for OPEN), closed after the test. */
  peer(id: string, token?: string): Promise<TestClient>;
  /** A socket with this query, whatever the server answers, closed after the test. */
  raw(query: Record<string, string | undefined>): TestClient;
  /** Something else to undo after the test, before the server closes. */
  cleanup(undo: () => void): void;
}

/** Call at the top of a test file: registers the afterEach that closes everything the test opened. */
export function serverPerTest(): ServerPerTest {
  let server: SignalServer | undefined;
  const clients: TestClient[] = [];
  const undos: Array<() => void> = [];
  afterEach(async () => {
    for (const undo of undos.splice(0)) undo();
    await closeAll(clients.splice(0));
    await server?.close();
    server = undefined;
  });
  return {
    get server() {
      if (server === undefined) throw new Error('start() the server first');
      return server;
    },
    async start(config = {}, options = {}) {
      server = createSignalServer({ host: '127.0.0.1', port: 0, ...config }, options);
      await server.listen();
      return server;
    },
    async peer(id, token) {
      const client = await connectPeer(this.server, id, token);
      clients.push(client);
      return client;
    },
    raw(query) {
      const client = connectRaw(socketUrl(this.server, query));
      clients.push(client);
      return client;
    },
    cleanup(undo) {
      undos.push(undo);
    },
  };
}
