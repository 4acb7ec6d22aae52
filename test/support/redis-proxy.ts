// A TCP proxy in front of a redis-server on loopback, for tests that watch or shape what the Redis backend sends:
// it counts the bytes each way and can space the client's writes apart (to make a race's order certain).
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';

export interface RedisProxy {
  /** `redis://127.0.0.1:<proxy port>`. */
  readonly url: string;
  /** Bytes from the client to Redis (`up`) and back (`down`) since the start or the last reset(). */
  readonly counts: { up: number; down: number };
  reset(): void;
  close(): Promise<void>;
}

/** Proxies to 127.0.0.1:`targetPort`; with `spacingMs`, each chunk from a client is written at least that long after the previous one. */
export async function startRedisProxy(targetPort: number, options: { spacingMs?: number } = {}): Promise<RedisProxy> {
  const counts = { up: 0, down: 0 };
  const sockets = new Set<Socket>();
  let lastWriteAt = 0;
  const server = createNetServer((client) => {
    const upstream = netConnect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('data', (chunk: Buffer) => {
      counts.up += chunk.length;
      if (options.spacingMs === undefined) return void upstream.write(chunk);
      const at = Math.max(Date.now(), lastWriteAt) + options.spacingMs;
      lastWriteAt = at;
      setTimeout(() => upstream.write(chunk), at - Date.now());
    });
    upstream.on('data', (chunk: Buffer) => {
      counts.down += chunk.length;
      client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    reset: () => {
      counts.up = 0;
      counts.down = 0;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
