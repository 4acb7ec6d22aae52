// STUN and TURN server URLs (RFC 7064, RFC 7065) as RTCIceServer.urls takes them: checked once, read apart for turn-config.

/** Which list a URL belongs to: `stun:`/`stuns:` or `turn:`/`turns:`. */
export type IceUrlKind = 'stun' | 'turn';

export interface IceUrl {
  scheme: 'stun' | 'stuns' | 'turn' | 'turns';
  /** The host as written, an IPv6 address without its brackets. */
  host: string;
  /** The port, or the scheme's default (3478, or 5349 for stuns:/turns:). */
  port: number;
  /** `?transport=` of a TURN URL, or undefined when the client may choose. */
  transport: 'udp' | 'tcp' | undefined;
}

// scheme ":" host [":" port] ["?transport=" udp|tcp]; the host is a name, IPv4, or IPv6 in brackets.
const ICE_URL = /^(stuns?|turns?):(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(?::(\d{1,5}))?(?:\?transport=(udp|tcp))?$/;

const EXAMPLE: Record<IceUrlKind, string> = {
  stun: 'stun:stun.example.com:3478',
  turn: 'turn:turn.example.com:3478?transport=udp',
};

/** Reads a URL apart, or undefined when it is not a STUN or TURN URL. */
export function parseIceUrl(url: string): IceUrl | undefined {
  const match = ICE_URL.exec(url);
  if (match === null) return undefined;
  const scheme = match[1] as IceUrl['scheme'];
  const port = match[3] === undefined ? (scheme.endsWith('s') ? 5349 : 3478) : Number(match[3]);
  if (port < 1 || port > 65535) return undefined;
  if (scheme.startsWith('stun') && match[4] !== undefined) return undefined;
  return { scheme, host: match[2]!.replace(/^\[(.*)\]$/, '$1'), port, transport: match[4] as IceUrl['transport'] };
}

/** What is wrong with `url` as a `kind` URL, as a phrase for an error message; undefined when it is fine. */
export function iceUrlProblem(kind: IceUrlKind, url: string): string | undefined {
  const schemes = kind === 'stun' ? 'stun: or stuns:' : 'turn: or turns:';
  const form = kind === 'stun' ? `${kind}:host[:port]` : `${kind}:host[:port][?transport=udp|tcp]`;
  const parsed = parseIceUrl(url);
  if (parsed !== undefined && parsed.scheme.startsWith(kind)) return undefined;
  const quoted = JSON.stringify(url);
  if (/^[a-z]+:\/\//i.test(url)) return `${quoted} is not a ${kind.toUpperCase()} URL: write ${form} without "//", e.g. ${EXAMPLE[kind]}`;
  if (parsed !== undefined || !new RegExp(`^${kind}s?:`).test(url)) return `${quoted} does not start with ${schemes}; write ${form}, e.g. ${EXAMPLE[kind]}`;
  return `${quoted} is not a ${kind.toUpperCase()} URL; write ${form} (port 1-65535${kind === 'turn' ? ', transport udp or tcp' : ''}), e.g. ${EXAMPLE[kind]}`;
}
