// Recognises a lone client HEARTBEAT frame before ws's stream machinery parses it: most of an idle server's work.
import { HEARTBEAT_FRAME } from '../signaling/protocol.js';

const HEARTBEAT = Buffer.from(HEARTBEAT_FRAME);
/** FIN + text opcode; mask bit + 20-byte length; 4 mask bytes; 20 masked payload bytes. */
const FRAME_LENGTH = 2 + 4 + HEARTBEAT.length;
const FIRST_BYTE = 0x81;
const SECOND_BYTE = 0x80 | HEARTBEAT.length;

/** The parts of ws's Receiver (a Writable) this relies on: it is idle between frames when these hold. */
interface ReceiverState {
  _state: number;
  _bufferedBytes: number;
  _fragmented: number;
  writableLength: number;
  destroyed: boolean;
  write(chunk: Buffer, encoding?: unknown, callback?: unknown): boolean;
}

function isMaskedHeartbeat(chunk: Buffer): boolean {
  if (chunk.length !== FRAME_LENGTH || chunk[0] !== FIRST_BYTE || chunk[1] !== SECOND_BYTE) return false;
  for (let i = 0; i < HEARTBEAT.length; i++) {
    if ((chunk[6 + i]! ^ chunk[2 + (i & 3)]!) !== HEARTBEAT[i]) return false;
  }
  return true;
}

let installed = false;

/**
 * Wraps ws's Receiver.prototype.write once: a chunk that is exactly one masked `{"type":"HEARTBEAT"}`
 * frame, arriving while the receiver holds no partial frame and has no write queued, goes straight
 * to `onHeartbeat`. Everything else takes ws's path unchanged. A heartbeat is every 5 s per peer,
 * so at 20,000 peers this skips ws's Writable bookkeeping, buffer slicing and event emission 4,000
 * times a second. Server-received frames are always masked, so frames a ws client receives (never
 * masked) can never match.
 */
export function installHeartbeatFastPath(
  receiver: object,
  onHeartbeat: (receiver: object) => boolean,
): void {
  if (installed) return;
  installed = true;
  const prototype = Object.getPrototypeOf(receiver) as ReceiverState;
  const write = prototype.write;
  prototype.write = function fastWrite(this: ReceiverState, chunk: Buffer, encoding?: unknown, callback?: unknown): boolean {
    if (
      this._state === 0 &&
      this._bufferedBytes === 0 &&
      this._fragmented === 0 &&
      this.writableLength === 0 &&
      !this.destroyed &&
      isMaskedHeartbeat(chunk) &&
      onHeartbeat(this)
    ) {
      return true;
    }
    return write.call(this, chunk, encoding, callback);
  };
}
