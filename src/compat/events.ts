// `peer`'s events (connection, message, disconnect) and client objects, told by a SignalingObserver.
import type { EventEmitter } from 'node:events';
import type { PeerHandle } from '../parts.js';
import { noObserver, type SignalingObserver } from '../signaling/observer.js';
import type { IClient, IMessage, PeerSocket } from './types.js';

type FindPeer = (id: string) => PeerHandle | undefined;

function unsupported(method: string): Error {
  return new Error(`client.${method}() is not supported by peer-signal: the server owns the socket and the liveness checks`);
}

/** `peer`'s Client over a peer held by the transport: it reads the live peer while connected, and what it last knew after. */
class Client implements IClient {
  private token: string;
  private lastPing = Date.now();

  constructor(
    private readonly id: string,
    private readonly find: FindPeer,
  ) {
    this.token = find(id)?.token ?? '';
  }

  /** The same id came back (a reconnect with the same token, or a new peer after it left). */
  reopened(): void {
    this.token = this.find(this.id)?.token ?? this.token;
    this.lastPing = Date.now();
  }

  getId(): string {
    return this.id;
  }
  getToken(): string {
    return this.token;
  }
  getSocket(): PeerSocket | null {
    return (this.find(this.id)?.socket as PeerSocket | undefined) ?? null;
  }
  getLastPing(): number {
    return this.find(this.id)?.lastSeenAt() ?? this.lastPing;
  }
  setLastPing(): void {
    throw unsupported('setLastPing');
  }
  send<T>(data: T): void {
    this.find(this.id)?.send(JSON.stringify(data));
  }
}

export interface PeerEvents {
  readonly observer: SignalingObserver;
  /** For PartsOptions.onPeerLookup: how the clients reach the live peers. */
  setLookup(find: FindPeer): void;
}

/**
 * Emits `connection`, `message` and `disconnect` on `emitter` as `peer` 1.0.2 does, one Client per
 * connected id. The observer is called inside the server's bookkeeping, so the events are emitted
 * from a microtask: a listener that throws cannot leave a peer half registered.
 */
export function createPeerEvents(emitter: EventEmitter): PeerEvents {
  let find: FindPeer = () => undefined;
  const clients = new Map<string, Client>();
  const clientOf = (id: string): Client => clients.get(id) ?? new Client(id, find);
  const emit = (event: string, ...args: unknown[]): void => {
    queueMicrotask(() => emitter.emit(event, ...args));
  };
  // `peer` reports every frame it parses; heartbeats never reach an observer, so they are not reported here.
  const message = (id: string, fields: Readonly<Record<string, unknown>>): void => {
    if (emitter.listenerCount('message') === 0) return;
    // The observer's frame is the server's to keep; listeners get their own copy.
    emit('message', clientOf(id), structuredClone({ ...fields, src: id }) as IMessage);
  };

  const observer: SignalingObserver = {
    ...noObserver,
    peerOpened(id) {
      let client = clients.get(id);
      if (client === undefined) {
        client = new Client(id, find);
        clients.set(id, client);
      } else {
        client.reopened();
      }
      emit('connection', client);
    },
    peerClosed(id) {
      const client = clientOf(id);
      clients.delete(id);
      emit('disconnect', client);
    },
    relayed(_type, src, _dst, _bytes, fields) {
      message(src, fields);
    },
    left(id) {
      message(id, { type: 'LEAVE' });
    },
  };
  return {
    observer,
    setLookup(lookup) {
      find = lookup;
    },
  };
}
