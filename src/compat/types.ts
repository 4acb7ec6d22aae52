// The `peer` package's public types (IConfig, IClient, IMessage, MessageType, PeerServerEvents), without express, ws or cors types.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { SignalingObserver } from '../signaling/observer.js';

/** The message types of the PeerJS protocol, as `peer` 1.0.2 declares them. */
export enum MessageType {
  OPEN = 'OPEN',
  LEAVE = 'LEAVE',
  CANDIDATE = 'CANDIDATE',
  OFFER = 'OFFER',
  ANSWER = 'ANSWER',
  EXPIRE = 'EXPIRE',
  HEARTBEAT = 'HEARTBEAT',
  ID_TAKEN = 'ID-TAKEN',
  ERROR = 'ERROR',
}

/** A signaling message a peer sent, as the `message` event reports it (`src` is always the sender). */
export interface IMessage {
  readonly type: MessageType;
  readonly src: string;
  readonly dst: string;
  readonly payload?: string | undefined;
}

/** What a client's `getSocket()` returns: a `ws` WebSocket, typed by the few members a program needs. */
export interface PeerSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  on(event: string, listener: (...args: any[]) => void): unknown;
}

/** A connected peer, as `peer`'s `connection`, `message` and `disconnect` events hand it over. */
export interface IClient {
  getId(): string;
  getToken(): string;
  /** The peer's WebSocket while it is connected to this instance, else null. */
  getSocket(): PeerSocket | null;
  // peer's setSocket() is left out: the server owns the socket (and the name is ws's private method, which src/ never names).
  /** When the peer last sent a frame or answered a ping (Date.now() ms); the connection time once it left. */
  getLastPing(): number;
  /** Not supported: the server tracks liveness itself. Throws. */
  setLastPing(lastPing: number): void;
  /** Sends `JSON.stringify(data)` to the peer, if it is still connected here. */
  send<T>(data: T): void;
}

/** The `cors` package's options; only `origin` is honoured (see docs/migrating-from-peer.md). */
export interface CorsOptions {
  origin?: boolean | string | RegExp | Array<boolean | string | RegExp> | ((...args: any[]) => void);
  [option: string]: unknown;
}

/** `peer` 1.0.2's options, field for field. Every function takes them as `Partial<IConfig>`. */
export interface IConfig {
  /** PeerServer only: the address to listen on. Default `::`. */
  readonly host: string;
  /** PeerServer only: the port to listen on. Default 9000. */
  readonly port: number;
  /** → expireTimeoutMs. Default 5000. */
  readonly expire_timeout: number;
  /** → aliveTimeoutMs. Default 60000. */
  readonly alive_timeout: number;
  readonly key: string;
  /** Where the API lives under the mount point. Default `/` (not the CLI's `/peerjs`). */
  readonly path: string;
  /** → concurrentLimit. Default 5000. */
  readonly concurrent_limit: number;
  /** → allowDiscovery. Default false. */
  readonly allow_discovery: boolean;
  /** `true`, or any string but `"false"`: trust X-Forwarded-For (→ proxied) and Express's `trust proxy`. */
  readonly proxied: boolean | string;
  /** Accepted and ignored: queued messages expire on their own timers. */
  readonly cleanup_out_msgs: number;
  /** PeerServer only: options for https.createServer (PEM `key` and `cert`, or anything else it takes). */
  readonly ssl?: { key?: string | Uint8Array; cert?: string | Uint8Array; [option: string]: unknown };
  /** Makes the ids `GET {path}/{key}/id` hands out. Default: random UUIDs. */
  readonly generateClientId?: () => string;
  /** Refused: peer-signal's transport owns the WebSocket server (see docs/migrating-from-peer.md). */
  readonly createWebSocketServer?: (...args: never[]) => unknown;
  /** Which origins may call the HTTP API; `origin` only. Default `{ origin: true }`. */
  readonly corsOptions: CorsOptions;
}

/** peer-signal's own options, camelCase as in createSignalServer; the five names both share take `peer`'s types. */
export type SignalOptions = Partial<Omit<Config, 'host' | 'port' | 'key' | 'path' | 'proxied'>>;

/** What PeerServer and ExpressPeerServer take: `peer`'s options, peer-signal's, or both. */
export type PeerServerOptions = Partial<IConfig> &
  SignalOptions & {
    /** Accepted and ignored, as in `peer` 1.0.2 (an old option the README still shows). */
    readonly debug?: boolean | number;
    /** Where the server logs connections and problems (createLogger). Default: silent. */
    readonly logger?: Logger;
    /** Told what happens to peers and messages (metrics, transcripts), as createSignalServer's observer. */
    readonly observer?: SignalingObserver;
  };

export interface PeerServerEvents {
  on(event: 'connection', listener: (client: IClient) => void): this;
  on(event: 'message', listener: (client: IClient, message: IMessage) => void): this;
  on(event: 'disconnect', listener: (client: IClient) => void): this;
  on(event: 'error', listener: (client: Error) => void): this;
}

/**
 * What PeerServer and ExpressPeerServer return: an Express sub-app (at run time it is one) to mount with
 * `app.use(path, peerServer)`, with `peer`'s events and a close().
 */
export interface PeerServerApp extends PeerServerEvents {
  (request: IncomingMessage, response: ServerResponse, next?: (error?: unknown) => void): void;
  once(event: 'connection' | 'disconnect', listener: (client: IClient) => void): this;
  once(event: 'message', listener: (client: IClient, message: IMessage) => void): this;
  once(event: 'error', listener: (error: Error) => void): this;
  off(event: string, listener: (...args: any[]) => void): this;
  emit(event: string, ...args: unknown[]): boolean;
  removeAllListeners(event?: string): this;
  listenerCount(event: string): number;
  /** Where it was mounted (Express's `mountpath`). */
  readonly mountpath: string | string[];
  /**
   * Closes the signaling peers (1001) and timers and stops taking upgrades; the HTTP server and app it is
   * mounted in keep running (PeerServer's own HTTP server is closed too). Idempotent.
   */
  close(): Promise<void>;
  /** Connected peers. */
  readonly peerCount: number;
}
