// Where the query commands find a running server: --url, else the HOST/PORT/PATH_PREFIX that started it.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { DEFAULTS, normalizePath } from '../config.js';
import { urlHost } from '../hosts.js';
import { usageError } from './output.js';

/**
 * The server's base URL (scheme, host, port and API prefix), without a trailing slash.
 * A URL given without a path gets the prefix from PATH_PREFIX (or the default), so both
 * `http://127.0.0.1:9000` and the printed `http://127.0.0.1:9000/peerjs` work.
 */
export function resolveBaseUrl(url: string | undefined, env: NodeJS.ProcessEnv = process.env): URL {
  const prefix = normalizePath(env.PATH_PREFIX ?? env.PEERSERVER_PATH ?? DEFAULTS.path);
  if (url === undefined) {
    const hostEnv = env.HOST ?? DEFAULTS.host;
    const host = urlHost(hostEnv);
    const port = env.PORT ?? String(DEFAULTS.port);
    const scheme = env.PEER_SIGNAL_SSL_CERT ? 'https' : 'http';
    url = `${scheme}://${host}:${port}${prefix === '/' ? '' : prefix}`;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw usageError(`--url "${url}" is not a URL; write it like http://127.0.0.1:9000/peerjs`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw usageError(`--url must start with http:// or https://, got "${url}"`);
  }
  parsed.hostname = urlHost(parsed.hostname);
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = prefix;
  parsed.pathname = parsed.pathname.replace(/\/+$/, '');
  parsed.search = '';
  parsed.hash = '';
  return parsed;
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
}

/** GET with a hard timeout; rejects with the OS error code (ECONNREFUSED, ETIMEDOUT...) on failure. */
export function httpGet(url: URL, timeoutMs: number, headers: Record<string, string> = {}, insecure = false): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const request = send(url, { method: 'GET', headers, agent: false, rejectUnauthorized: !insecure, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    request.on('error', reject);
    request.end();
  });
}
