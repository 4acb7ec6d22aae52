// A strict parser for the one kind of request the server reads before Node's HTTP parser: a complete
// HTTP/1.1 GET head in plain ASCII, as browsers send for a WebSocket upgrade. It only has to be right
// about what it accepts: anything else (undefined) goes to Node's parser, which answers as it always did.
import { maxHeaderSize, type IncomingHttpHeaders } from 'node:http';

/** A parsed head: the same method, target and (lowercased) headers Node's IncomingMessage would have. */
export interface RequestHead {
  method: 'GET';
  url: string;
  headers: IncomingHttpHeaders;
}

/**
 * Half Node's header limit (16 KiB unless --max-http-header-size says otherwise), at most 8 KiB: a
 * browser's handshake is about 500 bytes, and nothing taken here would have been refused as too large there.
 */
export const MAX_HEAD_BYTES = Math.min(8 * 1024, Math.floor(maxHeaderSize / 2));
/** Well below Node's 2,000-header cap, beyond which it silently drops headers. */
const MAX_HEADERS = 64;

/** Characters by code (below 128) allowed somewhere, as a lookup table. */
function charTable(chars: string): Uint8Array {
  const table = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) table[chars.charCodeAt(i)] = 1;
  return table;
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/**
 * An origin-form target is made of these RFC 3986 characters (no fragment, no spaces, no quotes or
 * brackets), all of which llhttp accepts.
 */
const TARGET_CHARS = charTable(`${ALPHANUMERIC}-._~!$&'()*+,;=:@/?%`);
/** RFC 9110 token characters: what a header name is made of. */
const TOKEN_CHARS = charTable(`${ALPHANUMERIC}!#$%&'*+-.^_\`|~`);
/**
 * Headers that change how a request is framed or read, where parsers are known to disagree: with them
 * the request is left to Node (a GET upgrade never has a body). Also Proxy-Connection, which llhttp
 * reads as Connection, and Set-Cookie, which Node always makes an array.
 */
const LEFT_TO_NODE = new Set(['content-length', 'transfer-encoding', 'expect', 'proxy-connection', 'set-cookie']);
/**
 * Any byte but visible ASCII, space and the CR LF that end lines: checked once, so that a value needs
 * no check of its own (a lone CR or LF is caught where lines are split). Tabs are valid whitespace,
 * but browsers do not send them and llhttp treats them unlike spaces inside Connection.
 */
const UNEXPECTED_BYTE = /[^\x20-\x7e\r\n]/;
const REQUEST_LINE_START = 'GET /';
const REQUEST_LINE_END = ' HTTP/1.1';
const CR = 13;
const SPACE = 32;

function allIn(table: Uint8Array, text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const code = text.charCodeAt(i);
    if (code > 127 || table[code] === 0) return false;
  }
  return true;
}

/**
 * Where the line starting at `start` ends (its CR, or the end of the head), or -1 when it has a lone
 * CR or LF, which llhttp refuses or reads differently.
 */
function lineEnd(head: string, start: number): number {
  const lf = head.indexOf('\n', start);
  const cr = head.indexOf('\r', start);
  if (lf === -1) return cr === -1 ? head.length : -1;
  return cr === lf - 1 && head.charCodeAt(lf - 1) === CR ? cr : -1;
}

/**
 * Parses `head` (the bytes before the blank line, without it, as latin1). Returns undefined for
 * anything but a GET over HTTP/1.1 with a Host header, well-formed lines, no repeated header and
 * none of LEFT_TO_NODE. Written with indexOf and lookup tables rather than regular expressions: it
 * runs on every connection, and this is several times faster.
 */
export function parseRequestHead(head: string): RequestHead | undefined {
  if (head.length > MAX_HEAD_BYTES || UNEXPECTED_BYTE.test(head)) return undefined;
  const requestEnd = lineEnd(head, 0);
  const targetEnd = requestEnd - REQUEST_LINE_END.length;
  if (
    targetEnd < REQUEST_LINE_START.length ||
    !head.startsWith(REQUEST_LINE_START) ||
    !head.startsWith(REQUEST_LINE_END, targetEnd) ||
    !allIn(TARGET_CHARS, head, REQUEST_LINE_START.length, targetEnd)
  ) {
    return undefined;
  }
  const headers: IncomingHttpHeaders = {};
  let count = 0;
  for (let start = requestEnd + 2; start < head.length + 2; ) {
    const end = lineEnd(head, start);
    if (end === -1 || ++count > MAX_HEADERS) return undefined;
    // `name:` with a token name; whitespace before the colon or at the start of a line (obs-fold) is not one.
    const colon = head.indexOf(':', start);
    if (colon <= start || colon >= end || !allIn(TOKEN_CHARS, head, start, colon)) return undefined;
    // The optional whitespace around a value is not part of it (RFC 9110 5.5).
    let from = colon + 1;
    let to = end;
    while (from < to && head.charCodeAt(from) === SPACE) from++;
    while (to > from && head.charCodeAt(to - 1) === SPACE) to--;
    const name = head.slice(start, colon).toLowerCase();
    // Node joins some repeated headers, drops others and keeps the first of the rest: not worth copying.
    if (headers[name] !== undefined || LEFT_TO_NODE.has(name)) return undefined;
    headers[name] = head.slice(from, to);
    start = end + 2;
  }
  if (headers.host === undefined) return undefined;
  return { method: 'GET', url: head.slice(REQUEST_LINE_START.length - 1, targetEnd), headers };
}

/**
 * Whether llhttp treats the request as an upgrade (without that, Node hands it to the request handler):
 * a non-empty Upgrade value and an `upgrade` token in Connection.
 */
export function asksToUpgrade(head: RequestHead): boolean {
  const { connection, upgrade } = head.headers;
  if (connection === undefined || upgrade === undefined || upgrade === '') return false;
  for (const option of connection.split(',')) {
    if (option.trim().toLowerCase() === 'upgrade') return true;
  }
  return false;
}
