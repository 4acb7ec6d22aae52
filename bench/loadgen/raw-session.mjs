// A PeerJS session over a bare TCP socket, for the connect scenario: the upgrade request is written by
// hand and only the 101 status line and the first frame are read. ws's client does much more per
// handshake (http.request, an HTTP parser, key checks, events), and at two thousand sessions a second
// that work, not the server, set the pace.
import net from 'node:net';

/** Any 16 bytes in base64 will do: the server answers with their hash, which a load generator need not check. */
const SEC_WEBSOCKET_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const HEADER_END = Buffer.from('\r\n\r\n');
const STATUS_101 = 'HTTP/1.1 101';
const OPEN_PREFIX = '{"type":"OPEN"';

function noop() {}

/** Splits `ws://host:port/path?query` into what net.connect and the request line need. */
export function parseWsBase(wsBase) {
  const url = new URL(wsBase);
  return { host: url.hostname, port: Number(url.port), target: `${url.pathname}${url.search}`, hostHeader: url.host };
}

/**
 * Reads the first server frame after the 101 headers, if it has fully arrived: `{ text }`, or
 * `{ close: code }` for a close frame; undefined while bytes are missing. Server frames are unmasked.
 */
function firstFrame(bytes, at) {
  if (bytes.length < at + 2) return undefined;
  const opcode = bytes[at] & 0x0f;
  let length = bytes[at + 1] & 0x7f;
  let start = at + 2;
  if (length === 126) {
    if (bytes.length < at + 4) return undefined;
    length = bytes.readUInt16BE(at + 2);
    start = at + 4;
  } else if (length === 127) {
    return { text: '(frame too long for a first frame)' };
  }
  if (bytes.length < start + length) return undefined;
  if (opcode === 0x8) return { close: length >= 2 ? bytes.readUInt16BE(start) : 1005 };
  return { text: bytes.toString('utf8', start, start + length) };
}

/**
 * Connects, upgrades and waits for the OPEN frame. Resolves `{ socket, us }` (microseconds from the
 * connect call to OPEN); rejects with the server's first frame, a close code or a timeout, and then
 * destroys the socket.
 */
export function openRawSession({ host, port, target, hostHeader }, id, token, timeoutMs, localAddress) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const socket = net.connect({ host, port, localAddress, noDelay: true });
    let received = Buffer.alloc(0);
    let settled = false;
    const settle = (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      if (error) {
        socket.destroy();
        reject(error);
        return;
      }
      // Keep reading (and dropping) whatever comes later, such as pings, so the socket never backs up.
      socket.on('data', noop);
      resolve({ socket, us: (performance.now() - start) * 1000 });
    };
    const timer = setTimeout(() => settle(new Error('timeout waiting for OPEN')), timeoutMs);
    function onData(chunk) {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const headerEnd = received.indexOf(HEADER_END);
      if (headerEnd === -1) return;
      if (!received.toString('latin1', 0, STATUS_101.length).startsWith(STATUS_101)) {
        settle(new Error(received.toString('latin1', 0, Math.min(headerEnd, 60))));
        return;
      }
      const frame = firstFrame(received, headerEnd + HEADER_END.length);
      if (frame === undefined) return;
      if (frame.close !== undefined) settle(new Error(`closed ${frame.close}`));
      else if (frame.text.startsWith(OPEN_PREFIX)) settle(undefined);
      else settle(new Error(frame.text.slice(0, 120)));
    }
    socket.on('data', onData);
    socket.on('error', (error) => settle(error));
    socket.on('close', () => settle(new Error('closed before OPEN')));
    socket.write(
      `GET ${target}&id=${id}&token=${token} HTTP/1.1\r\nHost: ${hostHeader}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${SEC_WEBSOCKET_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
}
