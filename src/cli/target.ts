// Where the query commands find a running server: --url, else the HOST/PORT/PATH_PREFIX that started it.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { DEFAULTS, normalizePath } from '../config.js';
import { urlHost } from '../hosts.js';
import { usageError } from './output.js';

/** A running server the query commands talk to. */
export interface Target {
  /** Scheme, host, port and API prefix, without a trailing slash, e.g. `http://127.0.0.1:9000/peerjs`. */
  base: URL;
  /**
   * Whether the prefix was given (the path of --url, or PATH_PREFIX without --url) rather than
   * assumed (a bare origin such as `--url http://127.0.0.1:9000`, or no setting at all): an assumed
   * prefix may not be the server's, so the commands check it (health asks the root, which every
   * server answers; peers asks the server for its path).
   */
  pathGiven: boolean;
}

/**
 * Where the server is: --url, else built from HOST, PORT and PATH_PREFIX (the variables that started
 * it). A URL given without a path gets the prefix from PATH_PREFIX (or the default), so both
 * `http://127.0.0.1:9000` and the printed `http://127.0.0.1:9000/peerjs` work.
 */
export function resolveTarget(url: string | undefined, env: NodeJS.ProcessEnv = process.env): Target {
  const envPrefix = env.PATH_PREFIX ?? env.PEERSERVER_PATH;
  const prefix = normalizePath(envPrefix ?? DEFAULTS.path);
  const fromEnv = url === undefined;
  if (url === undefined) {
    const host = urlHost(env.HOST ?? DEFAULTS.host);
    const port = env.PORT ?? String(DEFAULTS.port);
    const scheme = env.PEER_SIGNAL_SSL_CERT ? 'https' : 'http';
    url = `${scheme}://${host}:${port}${prefix === '/' ? '' : prefix}`;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw usageError(
      fromEnv
        ? `HOST and PORT make "${url}", which is not a URL; set them to an address and a port number, or pass --url`
        : `--url "${url}" is not a URL; write it like http://127.0.0.1:9000/peerjs`,
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw usageError(`--url must start with http:// or https://, got "${url}"`);
  }
  const bare = parsed.pathname === '/' || parsed.pathname === '';
  parsed.hostname = urlHost(parsed.hostname);
  if (bare) parsed.pathname = prefix;
  parsed.pathname = parsed.pathname.replace(/\/+$/, '');
  parsed.search = '';
  parsed.hash = '';
  return { base: parsed, pathGiven: fromEnv ? envPrefix !== undefined : !bare };
}

/** `base` + `suffix`, keeping the base's path. */
export function joinUrl(base: URL, suffix: string): URL {
  const joined = new URL(base.href);
  joined.pathname = `${base.pathname.replace(/\/+$/, '')}${suffix}`;
  return joined;
}

export interface HttpAnswer {
  status: number;
  body: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

export interface GetOptions {
  /** How long the connection may stay silent. */
  timeoutMs: number;
  headers?: Record<string, string>;
  /** Accept self-signed certificates. */
  insecure?: boolean;
  /** Abandons the request (health's deadline). */
  signal?: AbortSignal;
}

/** GET with a hard timeout; rejects with the OS error code (ECONNREFUSED, ETIMEDOUT...) on failure. */
export function httpGet(url: URL, options: GetOptions): Promise<HttpAnswer> {
  return httpCall(url, options);
}

/** A request with any method and an optional JSON body (the admin routes), with httpGet's timeout and answers. */
export function httpCall(
  url: URL,
  { timeoutMs, headers = {}, insecure = false, signal, method = 'GET', json }: GetOptions & { method?: string; json?: unknown },
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const body = json === undefined ? undefined : JSON.stringify(json);
    const allHeaders = body === undefined ? headers : { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
    const options = { method, headers: allHeaders, agent: false, rejectUnauthorized: !insecure, timeout: timeoutMs, signal };
    const request = send(url, options, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch {
          // not JSON: json stays undefined
        }
        resolve({ status: response.statusCode ?? 0, body, json });
      });
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    request.on('error', reject);
    request.end(body);
  });
}

/** The OS error code of a failed request (ECONNREFUSED...), or its message. */
export function failureCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
}

/** A JSON object (not an array or null), or undefined. */
export function asObject(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
