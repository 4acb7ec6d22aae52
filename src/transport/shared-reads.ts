// Reads every plain TCP connection into one shared buffer, from its first read (direct-upgrades.ts
// looks at that one), and takes the common case there: complete masked text frames (HEARTBEAT, OFFER,
// CANDIDATE...) go straight to the socket's owner, before Node's stream machinery and ws's Receiver
// see them. Everything else is copied and takes Node's and ws's path unchanged.
import type { Socket } from 'node:net';
import { isUtf8 } from 'node:buffer';
import { completeTextFrame, toggleMask } from './client-frames.js';

/**
 * One read buffer for all sockets. libuv reads into it and Node calls `onSharedRead` at once, which
 * handles the bytes or copies them before returning, so the next read may overwrite them. 64 KiB is
 * what Node would allocate for each read otherwise. Its own ArrayBuffer, so `WORDS` views it from 0.
 */
const SHARED_BUFFER = Buffer.allocUnsafeSlow(64 * 1024);
const WORDS = new Uint32Array(SHARED_BUFFER.buffer, SHARED_BUFFER.byteOffset, SHARED_BUFFER.length >>> 2);

/** What the sockets' owners (the transport) do with frames taken here. One for the process, like the buffer. */
export interface FrameTaker {
  /**
   * The largest payload the owner accepts now, or -1 when frames must go through ws: its receiver
   * holds part of a frame, or the socket is not open.
   */
  maxPayload(owner: object): number;
  /** One complete text frame's payload, unmasked and valid UTF-8; the bytes are only valid during the call. */
  text(owner: object, payload: Buffer): void;
}

/**
 * The parts of net.Socket this relies on. `useUserBuffer` is the handle method behind net's public
 * `onread` option (client sockets only); kBuffer/kBufferCb are the fields net reads on every read.
 */
interface SocketInternals {
  _handle?: { useUserBuffer?: (buffer: Uint8Array) => void } | null;
  encrypted?: boolean;
  /** Set by `readIntoSharedBuffer`: whom frames are for. A named field, so reading it stays a cheap load. */
  peerSignalOwner?: object;
  /** Set by `readFirstIntoSharedBuffer` until the first read arrives. */
  peerSignalFirstRead?: FirstReadHandler;
}

/**
 * Takes a socket's first read: `bytes[0, length)` are only valid during the call, so whatever is kept
 * must be copied (or pushed with `pushRead`). Returns what push() would: false when the stream is full.
 */
export type FirstReadHandler = (socket: Socket, bytes: Buffer, length: number) => boolean;

interface NetSymbols {
  buffer: symbol;
  callback: symbol;
}

/** Found on the first socket; null when this Node has no such fields (then every read takes the normal path). */
let netSymbols: NetSymbols | null | undefined;
let taker: FrameTaker = { maxPayload: () => -1, text: () => {} };

function findNetSymbols(socket: object): NetSymbols | null {
  const symbols = Object.getOwnPropertySymbols(socket);
  const buffer = symbols.find((symbol) => symbol.description === 'kBuffer');
  const callback = symbols.find((symbol) => symbol.description === 'kBufferCb');
  if (buffer === undefined || callback === undefined) return null;
  const fields = socket as Record<symbol, unknown>;
  return fields[buffer] === null && fields[callback] === null ? { buffer, callback } : null;
}

/**
 * Node calls this (as a method of the socket) with the bytes of one read in SHARED_BUFFER. While
 * nothing is queued before them and the owner takes frames, complete text frames are unmasked in
 * place and handed over one by one; from the first byte that is anything else (a control frame, a
 * partial or oversized frame, invalid UTF-8) the rest is copied and pushed like Node's own read path
 * would, so ws sees it at a frame boundary. Returning false (the stream is full) makes Node stop
 * reading until ws resumes the socket.
 */
function onSharedRead(this: Socket & SocketInternals, nread: number, buffer: Buffer): boolean {
  let at = 0;
  const owner = this.peerSignalOwner;
  if (owner !== undefined && this.readableLength === 0) {
    for (;;) {
      const maxPayload = taker.maxPayload(owner);
      if (maxPayload < 0) break;
      const frame = completeTextFrame(buffer, at, nread, maxPayload);
      if (frame === undefined) break;
      toggleMask(buffer, WORDS, frame.start, frame.end, frame.mask);
      const payload = buffer.subarray(frame.start, frame.end);
      if (!isUtf8(payload)) {
        // ws closes with 1007; give it the frame as it came.
        toggleMask(buffer, WORDS, frame.start, frame.end, frame.mask);
        break;
      }
      at = frame.end;
      taker.text(owner, payload);
      if (at === nread) return true;
      if (this.destroyed) return true;
    }
  }
  return pushRead(this, buffer, at, nread);
}

/** Copies `bytes[from, to)` out of the shared buffer and pushes them to the socket's stream, as Node's own read path would. */
export function pushRead(socket: Socket, bytes: Buffer, from: number, to: number): boolean {
  const chunk = Buffer.allocUnsafe(to - from);
  bytes.copy(chunk, 0, from, to);
  return socket.push(chunk);
}

/** The first read of a socket set up by `readFirstIntoSharedBuffer`; later reads take `onSharedRead`. */
function onFirstRead(this: Socket & SocketInternals, nread: number, buffer: Buffer): boolean {
  const handler = this.peerSignalFirstRead!;
  this.peerSignalFirstRead = undefined;
  (this as unknown as Record<symbol, unknown>)[netSymbols!.callback] = onSharedRead;
  return handler(this, buffer, nread);
}

/** Sets who takes frames read here. */
export function setFrameTaker(next: FrameTaker): void {
  taker = next;
}

/**
 * From now on, reads of `socket` land in the shared buffer instead of a fresh 64 KiB allocation each,
 * and complete text frames go to `owner` through the frame taker. Returns false, changing nothing,
 * for TLS sockets and on a Node without the fields this needs.
 */
export function readIntoSharedBuffer(socket: Socket, owner: object): boolean {
  const internals = socket as Socket & SocketInternals;
  if (!useSharedBuffer(internals)) return false;
  internals.peerSignalOwner = owner;
  return true;
}

/**
 * Like `readIntoSharedBuffer` without an owner yet: the socket's first read goes to `handler`, later
 * ones are copied and pushed until an owner is set. Returns false, changing nothing, where
 * `readIntoSharedBuffer` would; call it before the first read completes (on accept).
 */
export function readFirstIntoSharedBuffer(socket: Socket, handler: FirstReadHandler): boolean {
  const internals = socket as Socket & SocketInternals;
  // Both fields exist before the buffer is used, so the socket keeps one shape whichever way it goes.
  internals.peerSignalOwner = undefined;
  internals.peerSignalFirstRead = handler;
  if (!useSharedBuffer(internals)) {
    internals.peerSignalFirstRead = undefined;
    return false;
  }
  (socket as unknown as Record<symbol, unknown>)[netSymbols!.callback] = onFirstRead;
  return true;
}

/** Points the socket's reads at the shared buffer (once; a socket already reading into it stays so). */
function useSharedBuffer(socket: Socket & SocketInternals): boolean {
  const handle = socket._handle;
  if (socket.encrypted === true || handle == null || typeof handle.useUserBuffer !== 'function') return false;
  netSymbols ??= findNetSymbols(socket);
  if (netSymbols === null) return false;
  const fields = socket as unknown as Record<symbol, unknown>;
  if (fields[netSymbols.buffer] === SHARED_BUFFER) return true;
  if (fields[netSymbols.buffer] !== null) return false;
  handle.useUserBuffer(SHARED_BUFFER);
  fields[netSymbols.buffer] = SHARED_BUFFER;
  fields[netSymbols.callback] = onSharedRead;
  return true;
}
