// Raw ws test clients: connect to a server under test, buffer every frame, await the next one or the close.
import WebSocket from 'ws';
import type { SignalServer } from '../../src/server.js';

export interface WireMessage {
  type: string;
  payload?: unknown;
  src?: string;
  dst?: string;
  [field: string]: unknown;
}

export interface TestClient {
  readonly ws: WebSocket;
  /** Resolves with the next frame (buffered ones first); rejects after timeoutMs. */
  next(timeoutMs?: number): Promise<WireMessage>;
  /** Frames received and not yet taken by next(). */
  readonly pending: WireMessage[];
  /** Every frame's raw text, in arrival order. */
  readonly texts: string[];
  /** Resolves with the close code once the socket closed. */
  closed: Promise<number>;
  send(message: unknown): void;
  sendRaw(data: string | Buffer, binary?: boolean): void;
}

export function socketUrl(server: SignalServer, query: Record<string, string | undefined>): string {
  const address = server.address();
  if (address === null) throw new Error('server is not listening');
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, value);
  const prefix = server.config.path === '/' ? '' : server.config.path;
  return `ws://127.0.0.1:${address.port}${prefix}/peerjs?${params.toString()}`;
}

export function connectRaw(url: string): TestClient {
  const ws = new WebSocket(url);
  const pending: WireMessage[] = [];
  const texts: string[] = [];
  const waiters: Array<(message: WireMessage) => void> = [];
  ws.on('message', (data) => {
    texts.push(data.toString());
    const message = JSON.parse(data.toString()) as WireMessage;
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else pending.push(message);
  });
  ws.on('error', () => {});
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  return {
    ws,
    pending,
    texts,
    closed,
    next(timeoutMs = 2000) {
      const buffered = pending.shift();
      if (buffered) return Promise.resolve(buffered);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const index = waiters.indexOf(deliver);
          if (index !== -1) waiters.splice(index, 1);
          reject(new Error(`no message within ${timeoutMs} ms`));
        }, timeoutMs);
        const deliver = (message: WireMessage): void => {
          clearTimeout(timer);
          resolve(message);
        };
        waiters.push(deliver);
      });
    },
    send(message) {
      ws.send(JSON.stringify(message));
    },
    sendRaw(data, binary = false) {
      ws.send(data, { binary });
    },
  };
}

/** Connects with the usual query and waits for OPEN. */
export async function connectPeer(server: SignalServer, id: string, token = `token-${id}`): Promise<TestClient> {
  const client = connectRaw(socketUrl(server, { key: server.config.key, id, token }));
  const first = await client.next();
  if (first.type !== 'OPEN') throw new Error(`expected OPEN for ${id}, got ${JSON.stringify(first)}`);
  return client;
}

/** Resolves once `count` more frames arrived, or rejects. */
export async function nextMany(client: TestClient, count: number, timeoutMs = 2000): Promise<WireMessage[]> {
  const messages: WireMessage[] = [];
  for (let i = 0; i < count; i++) messages.push(await client.next(timeoutMs));
  return messages;
}

export async function closeAll(clients: TestClient[]): Promise<void> {
  await Promise.all(
    clients.map(async (client) => {
      client.ws.terminate();
      await client.closed;
    }),
  );
}
