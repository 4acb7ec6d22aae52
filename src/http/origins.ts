// Which browser Origins an allow-list lets in (--cors, --allowed-origins): exact origins, "*", port and subdomain wildcards.

/** Says whether a request's `Origin` header is allowed; a missing one is allowed only by an allow-anything list. */
export type OriginMatcher = (origin: string | undefined) => boolean;

/** `scheme://host[:port]`, an optional trailing slash; the host may be a bracketed IPv6 address. */
const ORIGIN = /^([a-z][a-z0-9+.-]*):\/\/(\[[^\]]*\]|[^:/[\]]*)(?::([^/]*))?\/?$/i;

const WILDCARD_HINT =
  'use * alone (any origin), * as the port (http://localhost:*) or *. before a domain (https://*.example.com)';

interface Wildcard {
  scheme: string;
  /** The exact host, or with a subdomain wildcard the suffix it must end with (`.example.com`). */
  host: string;
  subdomains: boolean;
  /** The exact port (`''` when the origin has none), or undefined for any port. */
  port: string | undefined;
}

/**
 * Why `pattern` cannot be used as an allow-list entry because of a misplaced `*`, or undefined when
 * it has none or uses one in a supported place. The message quotes the entry and says what to write.
 */
export function wildcardProblem(pattern: string): string | undefined {
  if (!pattern.includes('*') || pattern === '*') return undefined;
  const match = ORIGIN.exec(pattern);
  const host = match?.[2] ?? '';
  const port = match?.[3];
  const hostOk = !host.includes('*') || /^\*\.[^*]+$/.test(host);
  const portOk = port === undefined || !port.includes('*') || port === '*';
  if (match !== null && hostOk && portOk) return undefined;
  return `"${pattern}" has a * that can never match; ${WILDCARD_HINT}`;
}

function parseWildcard(pattern: string): Wildcard | undefined {
  const match = ORIGIN.exec(pattern.toLowerCase());
  if (match === null) return undefined;
  const [, scheme, host, port] = match as unknown as [string, string, string, string | undefined];
  const subdomains = host.startsWith('*.');
  return { scheme, host: subdomains ? host.slice(1) : host, subdomains, port: port === '*' ? undefined : (port ?? '') };
}

function matchesWildcard(wildcard: Wildcard, scheme: string, host: string, port: string): boolean {
  if (scheme !== wildcard.scheme) return false;
  if (wildcard.port !== undefined && port !== wildcard.port) return false;
  // `.example.com` matches `a.example.com` and `a.b.example.com`, not `example.com` or `evil-example.com`.
  if (wildcard.subdomains) return host.length > wildcard.host.length && host.endsWith(wildcard.host);
  return host === wildcard.host;
}

function compile(list: readonly string[]): OriginMatcher {
  if (list.length === 0 || list.includes('*')) return () => true;
  const exact = new Set<string>();
  const wildcards: Wildcard[] = [];
  for (const entry of list) {
    const wildcard = entry.includes('*') ? parseWildcard(entry) : undefined;
    if (wildcard !== undefined) wildcards.push(wildcard);
    else exact.add(entry.toLowerCase().replace(/\/+$/, ''));
  }
  return (origin) => {
    if (origin === undefined) return false;
    const lower = origin.toLowerCase();
    if (exact.has(lower)) return true;
    if (wildcards.length === 0) return false;
    const match = ORIGIN.exec(lower);
    if (match === null) return false;
    const [, scheme, host, port] = match as unknown as [string, string, string, string | undefined];
    return wildcards.some((wildcard) => matchesWildcard(wildcard, scheme, host, port ?? ''));
  };
}

const compiled = new WeakMap<readonly string[], OriginMatcher>();

/**
 * The matcher for an allow-list: any origin when the list is empty or holds "*". Compiled once per
 * list (a Config's lists are frozen arrays), so calling it per request costs a map lookup.
 */
export function originMatcher(list: readonly string[]): OriginMatcher {
  let matcher = compiled.get(list);
  if (matcher === undefined) {
    matcher = compile(list);
    compiled.set(list, matcher);
  }
  return matcher;
}
