// The server side of the WebSocket opening handshake (RFC 6455 §4.2), without extensions (peer-signal
// never compresses): what ws's handleUpgrade does, minus its per-socket closure and client set, with a
// one-shot hash where Node has one.
import * as crypto from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';

/** RFC 6455: the fixed GUID appended to the client's key before hashing. */
const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** A base64-encoded 16-byte value, as the RFC requires (and ws checks). */
const KEY_PATTERN = /^[+/0-9A-Za-z]{22}==$/;

/** `crypto.hash` (Node 20.12+) hashes without creating a Hash object: about 1 µs against 2.7 µs here. */
const sha1Base64: (text: string) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (text) => (crypto as unknown as { hash(algorithm: string, data: string, encoding: string): string }).hash('sha1', text, 'base64')
    : (text) => crypto.createHash('sha1').update(text).digest('base64');

/** What the handshake reads of a request: an IncomingMessage, or a head parsed by request-head.ts. */
export interface UpgradeRequest {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly socket: { readonly remoteAddress?: string | undefined };
}

/** RFC 7230 token characters: what a subprotocol name may contain. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A refusal, with the headers RFC 6455 asks for (the supported versions when the version was wrong). */
export interface HandshakeRefusal {
  status: 400 | 405;
  reason: string;
  headers: string;
}

/**
 * The subprotocols a client offered (Sec-WebSocket-Protocol, comma-separated tokens), in order;
 * null when the header is malformed or names one twice, which ws refused too.
 */
function offeredProtocols(request: UpgradeRequest): string[] | null {
  const header = request.headers['sec-websocket-protocol'];
  if (header === undefined) return [];
  const names = header.split(',').map((name) => name.trim());
  if (names.some((name) => !TOKEN.test(name)) || new Set(names).size !== names.length) return null;
  return names;
}

/** Why a request is not a valid opening handshake, as a refusal; undefined when it is valid. */
export function handshakeProblem(request: UpgradeRequest): HandshakeRefusal | undefined {
  if (request.method !== 'GET') return { status: 405, reason: 'a WebSocket upgrade must be a GET request', headers: '' };
  const key = request.headers['sec-websocket-key'];
  if (key === undefined || !KEY_PATTERN.test(key)) return { status: 400, reason: 'missing or invalid Sec-WebSocket-Key header', headers: '' };
  // 13 is RFC 6455; like ws, also draft 8 (the same handshake), and a number with spaces around it.
  const version = Number(request.headers['sec-websocket-version']);
  if (version !== 13 && version !== 8) {
    return {
      status: 400,
      reason: 'missing or unsupported Sec-WebSocket-Version header (use 13)',
      headers: 'Sec-WebSocket-Version: 13, 8\r\n',
    };
  }
  if (offeredProtocols(request) === null) return { status: 400, reason: 'invalid Sec-WebSocket-Protocol header', headers: '' };
  return undefined;
}

/**
 * The subprotocol the server agrees to: the client's first, as ws chose by default (peerjs offers
 * none; other clients fail the handshake when none is echoed). Call after handshakeProblem().
 */
export function chosenProtocol(request: UpgradeRequest): string | undefined {
  return offeredProtocols(request)?.[0];
}

/** The 101 response for a request that passed handshakeProblem(). */
export function switchingProtocols(request: UpgradeRequest, protocol: string | undefined): string {
  const accept = sha1Base64(`${request.headers['sec-websocket-key']}${WEBSOCKET_GUID}`);
  const protocolLine = protocol === undefined ? '' : `Sec-WebSocket-Protocol: ${protocol}\r\n`;
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n${protocolLine}\r\n`;
}
