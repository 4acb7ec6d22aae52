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
  const frame = frameAt(bytes, at);
  if (frame === undefined) return undefined;
  if (frame.opcode === 0x8) return { close: frame.end - frame.start >= 2 ? bytes.readUInt16BE(frame.start) : 1005, end: frame.end };
  return { text: bytes.toString('utf8', frame.start, frame.end), end: frame.end };
}

/** The frame starting at `at`: its opcode and payload bounds, or undefined while bytes are missing. */
function frameAt(bytes, at) {
  if (bytes.length < at + 2) return undefined;
  const opcode = bytes[at] & 0x0f;
  let length = bytes[at + 1] & 0x7f;
  let start = at + 2;
  if (length === 126) {
    if (bytes.length < at + 4) return undefined;
    length = bytes.readUInt16BE(at + 2);
    start = at + 4;
  } else if (length === 127) {
    if (bytes.length < at + 10) return undefined;
    length = bytes.readUInt32BE(at + 6);
    start = at + 10;
  }
  if (bytes.length < start + length) return undefined;
  return { opcode, start, end: start + length };
}

/**
 * Connects, upgrades and waits for the OPEN frame. Resolves `{ socket, us, rest }` (microseconds from
 * the connect call to OPEN; bytes that came after OPEN); rejects with the server's first frame, a close code or a timeout, and then
 * destroys the socket.
 */
export function openRawSession({ host, port, target, hostHeader }, id, token, timeoutMs, localAddress) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const socket = net.connect({ host, port, localAddress, noDelay: true });
    let received = Buffer.alloc(0);
    let rest = received;
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
      // Keep reading (and dropping) whatever comes later, such as pings, so the socket never backs up;
      // a RawPeer made from this session takes over reading.
      socket.on('data', noop);
      resolve({ socket, us: (performance.now() - start) * 1000, rest });
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
      else if (frame.text.startsWith(OPEN_PREFIX)) {
        rest = received.subarray(frame.end);
        settle(undefined);
      }
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

/**
 * A masked client text frame of `prefix + middle + suffix` (prefix and suffix as bytes, middle an
 * ASCII string such as a timestamp), with a zero masking key: the server unmasks as usual, and the
 * payload bytes are then the text's own, so nothing is encoded or XORed here.
 */
function clientTextFrame(prefix, middle, suffix) {
  const length = prefix.length + middle.length + suffix.length;
  const header = length < 126 ? 6 : length < 65536 ? 8 : 14;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81;
  if (length < 126) {
    frame[1] = 0x80 | length;
  } else if (length < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(0, 2);
    frame.writeUInt32BE(length, 6);
  }
  frame.writeUInt32BE(0, header - 4);
  prefix.copy(frame, header);
  frame.latin1Write(middle, header + prefix.length);
  suffix.copy(frame, header + prefix.length + middle.length);
  return frame;
}

const NO_BYTES = Buffer.alloc(0);

/**
 * An open raw session that sends and receives text frames, with the parts of ws's WebSocket the
 * relay code uses (`readyState`, `send`, `bench`). Each frame is one write; received frames go to
 * `onText(peer, payload)` (server frames are unmasked and, from these servers, never fragmented).
 */
export class RawPeer {
  constructor(socket, rest, onText, onClose) {
    this.socket = socket;
    this.readyState = 1;
    this.bench = undefined;
    this.pending = rest.length > 0 ? rest : null;
    this.onText = onText;
    socket.removeListener('data', noop);
    socket.on('data', (chunk) => this.read(chunk));
    socket.on('close', () => {
      this.readyState = 3;
      onClose(this);
    });
    if (this.pending !== null) this.read(Buffer.alloc(0));
  }

  send(text) {
    this.socket.write(clientTextFrame(Buffer.from(text), '', NO_BYTES));
  }

  /** Sends `prefix + middle + suffix`: bytes, an ASCII string, bytes. */
  sendParts(prefix, middle, suffix) {
    this.socket.write(clientTextFrame(prefix, middle, suffix));
  }

  read(chunk) {
    const bytes = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    let at = 0;
    for (;;) {
      const frame = frameAt(bytes, at);
      if (frame === undefined) break;
      at = frame.end;
      if (frame.opcode === 0x1 || frame.opcode === 0x2) this.onText(this, bytes.subarray(frame.start, frame.end));
      else if (frame.opcode === 0x9) this.socket.write(Buffer.concat([Buffer.from([0x8a, 0x80 | (frame.end - frame.start), 0, 0, 0, 0]), bytes.subarray(frame.start, frame.end)]));
      else if (frame.opcode === 0x8) this.readyState = 2;
    }
    this.pending = at < bytes.length ? bytes.subarray(at) : null;
  }

  /** A reset leaves no TIME_WAIT behind. */
  reset() {
    this.readyState = 3;
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
  }
}
