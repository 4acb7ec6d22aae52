// ExpressPeerServer(server, options): `peer` 1.0.2's mountable Express sub-app, on attachSignalServer and the app's own express.
import type { EventEmitter } from 'node:events';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { createRequire } from 'node:module';
import { attachSignalServer, type AttachedSignalServer } from '../attach.js';
import { normalizePath } from '../config.js';
import { PeerSignalError } from '../errors.js';
import { combineObservers } from '../signaling/observer.js';
import { createPeerEvents } from './events.js';
import { toCompatOptions } from './options.js';
import type { PeerServerApp, PeerServerOptions } from './types.js';

type Next = (error?: unknown) => void;

/** The few members of an Express application used here; Express 4 and 5 both have them. */
export interface ExpressApp extends EventEmitter {
  (request: IncomingMessage, response: ServerResponse, next?: Next): void;
  use(handler: (request: IncomingMessage, response: ServerResponse, next: Next) => void): unknown;
  set(setting: string, value: unknown): unknown;
  path(): string;
  readonly mountpath: string | string[];
}

/**
 * The application's own express, found from this package upward as `require('express')` would from the
 * app (it is an optional peer dependency, never bundled), so mount semantics are exactly Express's.
 */
export function loadExpress(caller: string): () => ExpressApp {
  try {
    return createRequire(import.meta.url)('express') as () => ExpressApp;
  } catch (error) {
    throw new PeerSignalError(
      'PEER_SIGNAL_ERR_CONFIG',
      `${caller} needs express, which is not installed: run npm install express (4 or 5), or use attachSignalServer, which needs no framework`,
      { cause: error },
    );
  }
}

/**
 * `peer`'s ExpressPeerServer: an Express sub-app to mount with `app.use(mountPath, peerServer)`. On
 * mount it takes the WebSocket upgrades to `{mountPath}{path}/peerjs` on `server` (and only those), and
 * serves the HTTP API under `{path}`; everything else goes on to the app's next handler.
 * Emits `connection`, `message`, `disconnect` and `error` as `peer` does. Installs no process-wide handlers.
 */
export function ExpressPeerServer(server: HttpServer | HttpsServer, options: PeerServerOptions = {}): PeerServerApp {
  const compat = toCompatOptions(options as Record<string, unknown>);
  const app = loadExpress('ExpressPeerServer')();
  if (compat.trustProxy !== undefined) app.set('trust proxy', compat.trustProxy);
  const events = createPeerEvents(app);
  const base = normalizePath(compat.config.path ?? '/');
  /** Requests outside `{path}` are the app's, even the root routes (/, /health) our own server answers. */
  const isOurs = (url: string): boolean => {
    if (base === '/') return true;
    const pathname = url.split('?')[0]!;
    return pathname === base || pathname.startsWith(`${base}/`);
  };
  let attached: AttachedSignalServer | undefined;
  let closed = false;

  app.on('mount', () => {
    if (attached !== undefined) {
      throw new PeerSignalError('PEER_SIGNAL_ERR_CONFIG', 'this ExpressPeerServer is mounted already; create one per mount point');
    }
    if (typeof app.mountpath !== 'string') {
      throw new PeerSignalError(
        'PEER_SIGNAL_ERR_CONFIG',
        `an ExpressPeerServer is mounted on one path, got ${JSON.stringify(app.mountpath)}; mount it with app.use("/peerjs", peerServer)`,
      );
    }
    if (closed) return;
    attached = attachSignalServer(server, compat.config, {
      // app.path() is the whole chain of mount paths, as `peer` uses it.
      mountPath: normalizePath(app.path()),
      logger: compat.logger,
      observer: combineObservers([events.observer, ...(compat.observer === undefined ? [] : [compat.observer])]),
      generateClientId: compat.generateClientId,
      onPeerLookup: events.setLookup,
    });
    // An 'error' with no listener would throw; attachSignalServer has logged it then, and `ready` rejects.
    attached.ready.catch((error: unknown) => {
      if (app.listenerCount('error') > 0) app.emit('error', error);
    });
  });

  // The parts' handler takes `next` for what no route matches (AttachedSignalServer types it without).
  app.use((request, response, next) => {
    if (attached === undefined || closed || !isOurs(request.url ?? '/')) return next();
    (attached.handler as (request: IncomingMessage, response: ServerResponse, next: () => void) => void)(request, response, next);
  });

  let closing: Promise<void> | undefined;
  const peerServer = Object.assign(app, {
    close(): Promise<void> {
      closed = true;
      closing ??= attached?.close() ?? Promise.resolve();
      return closing;
    },
  });
  Object.defineProperty(peerServer, 'peerCount', { get: () => attached?.peerCount ?? 0, enumerable: true });
  return peerServer as unknown as PeerServerApp;
}
