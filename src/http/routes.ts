// The HTTP API as a plain node:http handler: health, server info, id, peers, ICE servers, metrics, CORS; JSON 404 for everything else.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config.js';
import { createSecretMatcher } from '../secrets.js';
import { answerAdmin, type AdminContext } from './admin.js';
import { clientAddress } from './client-address.js';
import { createIceServersRoute } from '../ice/route.js';
import { originMatcher, type OriginMatcher } from './origins.js';
import { InvalidCursorError, type ClusterStatus, type IdPage } from '../cluster/backend.js';

/** Most ids in one answer of GET /peers in cluster mode (about 400 KB of JSON); a Link header points at the next page. */
export const PEER_PAGE_LIMIT = 10_000;

/** What the routes need to know about the running server. */
export interface RouteContext {
  readonly config: Readonly<Config>;
  readonly version: string;
  /** process.hrtime-free start time, Date.now() when the server was created. */
  readonly startedAt: number;
  peerCount(): number;
  /**
   * About `limit` connected ids from `cursor` on (undefined: the first page), and where the next
   * page starts; rejects with InvalidCursorError for a cursor no page handed out.
   */
  listPeers(cursor: string | undefined, limit: number): Promise<IdPage>;
  /** Cluster state, or undefined on a single instance. */
  clusterStatus(): ClusterStatus | undefined;
  /** A fresh id no connected peer holds. */
  generateId(): string;
  /** What the admin routes act on; absent without an admin token, and `{prefix}/admin/...` is then a 404. */
  admin?: AdminContext;
  /** The Prometheus exposition for GET /metrics; absent when metrics are off, and the route is then a 404. */
  metrics?(): Promise<{ contentType: string; body: string }>;
}

type RouteHandler = (request: IncomingMessage, response: ServerResponse, query: URLSearchParams) => void;

const ALLOWED_METHODS = 'GET, HEAD, OPTIONS';
const ADMIN_TOKEN_REFUSED =
  'the admin token was refused: it is not the one this server was started with (--admin-token or PEER_SIGNAL_ADMIN_TOKEN)';
/** Shared by every request without a query string; never mutated. */
const NO_QUERY = new URLSearchParams();

function send(
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  contentType: string,
  body: string,
): void {
  // One writeHead with every header is cheaper than a setHeader call each (the id route is hot).
  // Headers set earlier (CORS, Allow) are merged in by writeHead.
  response.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    Vary: 'Origin',
  });
  response.end(request.method === 'HEAD' ? undefined : body);
}

function sendJson(request: IncomingMessage, response: ServerResponse, status: number, value: unknown): void {
  send(request, response, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

/** Sets CORS headers when the request's Origin is allowed: any origin by default or with "*", else those `--cors` matches. */
function applyCors(corsAllows: OriginMatcher, request: IncomingMessage, response: ServerResponse): boolean {
  const origin = request.headers.origin;
  if (origin === undefined || !corsAllows(origin)) return false;
  response.setHeader('Access-Control-Allow-Origin', origin);
  return true;
}

function answerPreflight(request: IncomingMessage, response: ServerResponse, allowed: boolean): void {
  if (allowed) {
    response.setHeader('Access-Control-Allow-Methods', ALLOWED_METHODS);
    const requested = request.headers['access-control-request-headers'];
    response.setHeader('Access-Control-Allow-Headers', requested ?? 'Authorization, Content-Type');
    response.setHeader('Access-Control-Max-Age', '600');
  }
  response.statusCode = 204;
  response.setHeader('Vary', 'Origin');
  response.setHeader('Content-Length', 0);
  response.end();
}

/** Builds the request handler. Routes are matched exactly; there is no framework and no regex per request. */
export function createRequestHandler(
  ctx: RouteContext,
): (request: IncomingMessage, response: ServerResponse, next?: () => void) => void {
  const { config } = ctx;
  const base = config.path === '/' ? '' : config.path;
  const isKey = createSecretMatcher(config.key);
  const isAdminToken = createSecretMatcher(config.adminToken ?? '');
  const corsAllows = originMatcher(config.cors);

  const health = (): Record<string, unknown> => {
    const cluster = ctx.clusterStatus();
    return {
      status: cluster?.state ?? 'ok',
      version: ctx.version,
      uptime: Math.round((Date.now() - ctx.startedAt) / 1000),
      peers: ctx.peerCount(),
      ...(cluster === undefined
        ? {}
        : { cluster: { peers: cluster.peers, instances: cluster.instances, redis: cluster.connection } }),
    };
  };
  const info = (): Record<string, unknown> => ({
    name: 'peer-signal',
    description: 'A PeerJS-compatible WebRTC signaling server',
    protocol: 'peerjs',
    path: config.path,
    websocket: `${base}/peerjs`,
    ...health(),
  });

  const sendHealth: RouteHandler = (request, response) => sendJson(request, response, 200, health());
  const sendInfo: RouteHandler = (request, response) => sendJson(request, response, 200, info());
  const sendId: RouteHandler = (request, response) => send(request, response, 200, 'text/plain; charset=utf-8', ctx.generateId());
  /** With --admin-token, answers 401 with `error` unless the request brings the token; true when it may go on. */
  const checkAdmin = (request: IncomingMessage, response: ServerResponse, error: string): boolean => {
    if (config.adminToken === undefined) return true;
    // RFC 7235: the scheme is case-insensitive and one or more spaces separate it from the token.
    const header = request.headers.authorization ?? '';
    const space = header.indexOf(' ');
    const bearer = space !== -1 && header.slice(0, space).toLowerCase() === 'bearer' ? header.slice(space + 1).trim() : '';
    if (isAdminToken(bearer)) return true;
    // A token was sent but is not this server's: say so (RFC 6750 invalid_token), rather than that one is needed.
    const refused = bearer !== '';
    response.setHeader('WWW-Authenticate', `Bearer realm="peer-signal"${refused ? ', error="invalid_token"' : ''}`);
    sendJson(request, response, 401, { error: refused ? ADMIN_TOKEN_REFUSED : error });
    return false;
  };
  const sendPeers: RouteHandler = (request, response, query) => {
    const refusal =
      'this server requires an admin token for the peer list; send Authorization: Bearer <token> (peer-signal peers --admin-token)';
    if (!checkAdmin(request, response, refusal)) return;
    if (!config.allowDiscovery) {
      sendJson(request, response, 401, {
        error: 'peer discovery is disabled; start the server with --allow-discovery (or ALLOW_DISCOVERY=true) to list peers',
      });
      return;
    }
    const limitText = query.get('limit');
    const limit = limitText === null ? PEER_PAGE_LIMIT : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > PEER_PAGE_LIMIT) {
      sendJson(request, response, 400, {
        error: `limit must be an integer from 1 to ${PEER_PAGE_LIMIT}, got ${JSON.stringify((limitText ?? '').slice(0, 20))}`,
      });
      return;
    }
    ctx.listPeers(query.get('cursor') ?? undefined, limit).then(
      ({ ids, next }) => {
        if (next !== undefined) {
          // A query-only reference resolves against the request's own URL, wherever the handler is mounted.
          const nextQuery = new URLSearchParams(query);
          nextQuery.set('cursor', next);
          response.setHeader('Link', `<?${nextQuery.toString()}>; rel="next"`);
          response.setHeader('Access-Control-Expose-Headers', 'Link');
        }
        sendJson(request, response, 200, ids);
      },
      (error: unknown) => {
        if (error instanceof InvalidCursorError) {
          sendJson(request, response, 400, { error: `${error.message}; pass the cursor from the Link header of the previous page` });
        } else sendJson(request, response, 500, { error: `listing peers failed: ${(error as Error).message}` });
      },
    );
  };
  const sendMetrics: RouteHandler = (request, response) => {
    if (!checkAdmin(request, response, 'this server requires an admin token for metrics; send Authorization: Bearer <token>')) return;
    ctx.metrics!().then(
      ({ contentType, body }) => send(request, response, 200, contentType, body),
      (error: unknown) => sendJson(request, response, 500, { error: `metrics failed: ${(error as Error).message}` }),
    );
  };
  const answerIceServers = createIceServersRoute(config);
  const sendIceServers: RouteHandler = (request, response, query) => {
    const answer = answerIceServers(clientAddress(request, config.proxied ? config.proxyHops : 0), query);
    for (const [name, value] of Object.entries(answer.headers ?? {})) response.setHeader(name, value);
    sendJson(request, response, answer.status, answer.body);
  };
  const withKey = (key: string | null, handler: RouteHandler): RouteHandler => (request, response, query) => {
    if (key === null || key === '') {
      sendJson(request, response, 401, { error: 'no key supplied; pass the server key as ?key=KEY or in the path' });
    } else if (!isKey(key)) {
      sendJson(request, response, 401, { error: 'invalid key; use the key the server was started with (--key)' });
    } else {
      handler(request, response, query);
    }
  };

  const exact = new Map<string, RouteHandler>([
    // The info document holds every health field too, and tells a client given only the origin where the API is.
    ['/', sendInfo],
    ['/health', sendHealth],
    [`${base}/health`, sendHealth],
    [`${base}/id`, sendId],
  ]);
  if (base !== '') {
    exact.set(base, sendInfo);
    exact.set(`${base}/`, sendInfo);
  }
  if (ctx.metrics !== undefined) {
    exact.set('/metrics', sendMetrics);
    exact.set(`${base}/metrics`, sendMetrics);
  }

  const route = (pathname: string, query: URLSearchParams): RouteHandler | undefined => {
    const direct = exact.get(pathname);
    if (direct !== undefined) return direct;
    if (pathname === `${base}/peers`) return withKey(query.get('key'), sendPeers);
    // {prefix}/{key}/id, {prefix}/{key}/peers and {prefix}/{key}/ice-servers
    if (!pathname.startsWith(`${base}/`)) return undefined;
    const rest = pathname.slice(base.length + 1);
    const slash = rest.indexOf('/');
    if (slash <= 0) return undefined;
    const action = rest.slice(slash + 1);
    let key: string;
    try {
      key = decodeURIComponent(rest.slice(0, slash));
    } catch {
      return undefined;
    }
    if (action === 'id') return withKey(key, sendId);
    if (action === 'peers') return withKey(key, sendPeers);
    if (action === 'ice-servers') return withKey(key, sendIceServers);
    return undefined;
  };

  const adminPrefix = `${base}/admin/`;
  const admin = ctx.admin;
  /** `{prefix}/admin/...`: fault injection and disconnecting peers, for testing applications; always behind the admin token. */
  const sendAdmin = (request: IncomingMessage, response: ServerResponse, rest: string): void => {
    if (!checkAdmin(request, response, 'the admin routes need the admin token; send Authorization: Bearer <token>')) return;
    answerAdmin(admin!, request, rest).then(
      (answer) => {
        if (answer.allow !== undefined) response.setHeader('Allow', answer.allow);
        sendJson(request, response, answer.status, answer.body);
      },
      (error: unknown) => sendJson(request, response, 500, { error: `admin route failed: ${(error as Error).message}` }),
    );
  };

  // `next`, when given (mounted in Express or connect), takes what no route matches, before any header is set.
  return (request, response, next) => {
    const url = request.url ?? '/';
    const queryStart = url.indexOf('?');
    const pathname = queryStart === -1 ? url : url.slice(0, queryStart);
    const query = queryStart === -1 ? NO_QUERY : new URLSearchParams(url.slice(queryStart + 1));
    const isAdmin = admin !== undefined && pathname.startsWith(adminPrefix) && request.method !== 'OPTIONS';
    const handler = isAdmin ? undefined : route(pathname, query);
    if (!isAdmin && handler === undefined && next !== undefined) {
      next();
      return;
    }
    const corsAllowed = applyCors(corsAllows, request, response);
    if (isAdmin) {
      sendAdmin(request, response, pathname.slice(adminPrefix.length));
      return;
    }
    if (handler === undefined) {
      sendJson(request, response, 404, { error: `no route for ${request.method} ${pathname}` });
      return;
    }
    if (request.method === 'OPTIONS') {
      answerPreflight(request, response, corsAllowed);
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', ALLOWED_METHODS);
      sendJson(request, response, 405, { error: `method ${request.method} is not allowed; use GET or HEAD` });
      return;
    }
    handler(request, response, query);
  };
}
