// startSignalServer(): one call for test runners (Playwright globalSetup, Vitest globalSetup): a started server on a free loopback port.
import type { Config } from './config.js';
import { createSignalServer, type ListeningInfo, type PeerClientOptions, type SignalServerOptions } from './server.js';

export interface StartedSignalServer {
  /** The HTTP API's base URL, e.g. `http://127.0.0.1:43127/peerjs`. */
  readonly url: string;
  /** The signaling WebSocket's URL. */
  readonly wsUrl: string;
  readonly port: number;
  /** What to pass to `new Peer(id, client)`. */
  readonly client: PeerClientOptions;
  /** Everything listen() reported. */
  readonly info: ListeningInfo;
  /** Closes peers (1001), timers and the port. Idempotent; nothing is left behind. */
  close(): Promise<void>;
}

/**
 * Starts a signaling server and resolves once it listens. Defaults differ from the CLI's where a
 * test wants them to: port 0 (a free one) and host 127.0.0.1. Any Config field can be passed.
 * Installs no signal handlers.
 */
export async function startSignalServer(config: Partial<Config> = {}, options: SignalServerOptions = {}): Promise<StartedSignalServer> {
  const server = createSignalServer({ port: 0, host: '127.0.0.1', ...config }, options);
  try {
    const info = await server.listen();
    return { url: info.url, wsUrl: info.wsUrl, port: info.port, client: info.client, info, close: () => server.close() };
  } catch (error) {
    await server.close();
    throw error;
  }
}
