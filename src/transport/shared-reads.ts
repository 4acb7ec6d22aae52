// Reads every peer's TCP socket into one shared buffer, and takes a lone HEARTBEAT frame there:
// most of an idle server's work, done before Node's stream machinery and ws's Receiver see it.
import type { Socket } from 'node:net';
import { HEARTBEAT_FRAME } from '../signaling/protocol.js';

const HEARTBEAT = Buffer.from(HEARTBEAT_FRAME);
/** FIN + text opcode; mask bit + 20-byte length; 4 mask bytes; 20 masked payload bytes. */
const HEARTBEAT_FRAME_LENGTH = 2 + 4 + HEARTBEAT.length;
const FIRST_BYTE = 0x81;
const SECOND_BYTE = 0x80 | HEARTBEAT.length;

/**
 * One read buffer for all sockets. libuv reads into it and Node calls `onSharedRead` at once, which
 * either handles the bytes or copies them before returning, so the next read may overwrite them.
 * 64 KiB is what Node would allocate for each read otherwise.
 */
const SHARED_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** What the socket's owner decides about a heartbeat; false sends the frame down the normal path. */
export type HeartbeatHandler = (owner: object) => boolean;

/**
 * The parts of net.Socket this relies on. `useUserBuffer` is the handle method behind net's public
 * `onread` option (client sockets only); kBuffer/kBufferCb are the fields net reads on every read.
 */
interface SocketInternals {
  _handle?: { useUserBuffer?: (buffer: Uint8Array) => void } | null;
  encrypted?: boolean;
  /** Set by `readIntoSharedBuffer`: whom a heartbeat is for. A named field, so reading it stays a cheap load. */
  peerSignalOwner?: object;
}

interface NetSymbols {
  buffer: symbol;
  callback: symbol;
}

/** Found on the first socket; null when this Node has no such fields (then every read takes the normal path). */
let netSymbols: NetSymbols | null | undefined;
let onHeartbeat: HeartbeatHandler = () => false;

function findNetSymbols(socket: object): NetSymbols | null {
  const symbols = Object.getOwnPropertySymbols(socket);
  const buffer = symbols.find((symbol) => symbol.description === 'kBuffer');
  const callback = symbols.find((symbol) => symbol.description === 'kBufferCb');
  if (buffer === undefined || callback === undefined) return null;
  const fields = socket as Record<symbol, unknown>;
  return fields[buffer] === null && fields[callback] === null ? { buffer, callback } : null;
}

function isMaskedHeartbeat(bytes: Buffer): boolean {
  if (bytes[0] !== FIRST_BYTE || bytes[1] !== SECOND_BYTE) return false;
  for (let i = 0; i < HEARTBEAT.length; i++) {
    if ((bytes[6 + i]! ^ bytes[2 + (i & 3)]!) !== HEARTBEAT[i]) return false;
  }
  return true;
}

/**
 * Node calls this (as a method of the socket) with the bytes of one read in SHARED_BUFFER. A read
 * that is exactly one masked heartbeat, with nothing queued before it, goes to the owner; any other
 * read is copied and pushed like Node's own read path would, so ws sees the same 'data' events.
 * Returning false (the stream is full) makes Node stop reading until ws resumes the socket.
 */
function onSharedRead(this: Socket & SocketInternals, nread: number, buffer: Buffer): boolean {
  if (
    nread === HEARTBEAT_FRAME_LENGTH &&
    this.readableLength === 0 &&
    isMaskedHeartbeat(buffer) &&
    this.peerSignalOwner !== undefined &&
    onHeartbeat(this.peerSignalOwner)
  ) {
    return true;
  }
  const chunk = Buffer.allocUnsafe(nread);
  buffer.copy(chunk, 0, 0, nread);
  return this.push(chunk);
}

/** Sets what is done with a heartbeat read; one handler for the process, like the buffer. */
export function setHeartbeatHandler(handler: HeartbeatHandler): void {
  onHeartbeat = handler;
}

/**
 * From now on, reads of `socket` land in the shared buffer instead of a fresh 64 KiB allocation each,
 * and heartbeats are offered to `owner`. Returns false, changing nothing, for TLS sockets and on a
 * Node without the fields this needs.
 */
export function readIntoSharedBuffer(socket: Socket, owner: object): boolean {
  const internals = socket as Socket & SocketInternals;
  const handle = internals._handle;
  if (internals.encrypted === true || handle == null || typeof handle.useUserBuffer !== 'function') return false;
  netSymbols ??= findNetSymbols(socket);
  if (netSymbols === null) return false;
  const fields = socket as unknown as Record<symbol, unknown>;
  if (fields[netSymbols.buffer] !== null) return false;
  internals.peerSignalOwner = owner;
  handle.useUserBuffer(SHARED_BUFFER);
  fields[netSymbols.buffer] = SHARED_BUFFER;
  fields[netSymbols.callback] = onSharedRead;
  return true;
}
