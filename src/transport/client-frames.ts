// The one WebSocket frame shape a signaling server mostly receives: a complete, unfragmented,
// masked text frame from a client (RFC 6455 §5.2). Anything else is left to ws.

/** Where a frame's payload lies in the buffer, and its masking key. */
export interface TextFrame {
  /** Index of the first payload byte. */
  start: number;
  /** Index just past the last payload byte: where the next frame starts. */
  end: number;
  /** The masking key's four bytes, first byte lowest (little-endian), as XOR of a word expects. */
  mask: number;
}

/**
 * The text frame starting at `at` if it is complete within `limit`, has FIN set, no RSV bits, the
 * mask bit set and at most `maxPayload` payload bytes; otherwise undefined, and ws should see the
 * bytes from `at` on: it handles control, binary and fragmented frames, partial frames, and the
 * errors (unmasked, oversized) with their close codes.
 */
export function completeTextFrame(bytes: Buffer, at: number, limit: number, maxPayload: number): TextFrame | undefined {
  if (limit - at < 6 || bytes[at] !== 0x81) return undefined;
  const second = bytes[at + 1]!;
  if ((second & 0x80) === 0) return undefined;
  let length = second & 0x7f;
  let maskAt = at + 2;
  if (length === 126) {
    if (limit - at < 8) return undefined;
    length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    maskAt = at + 4;
  } else if (length === 127) {
    // Lengths past 64 KiB never fit one 64 KiB read with their header; ws takes them.
    return undefined;
  }
  const start = maskAt + 4;
  if (length > maxPayload || start + length > limit) return undefined;
  const mask = bytes[maskAt]! | (bytes[maskAt + 1]! << 8) | (bytes[maskAt + 2]! << 16) | (bytes[maskAt + 3]! << 24);
  return { start, end: start + length, mask };
}

/** Word-wise XOR builds its key for little-endian words; elsewhere every byte goes one by one. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * XORs bytes[start, end) with the frame's mask, in place; applying it twice restores the bytes.
 * Whole 32-bit words where the buffer allows, about four times fewer steps than byte by byte.
 * `words` must view the same memory as `bytes` (same ArrayBuffer, offset 0).
 */
export function toggleMask(bytes: Buffer, words: Uint32Array, start: number, end: number, mask: number): void {
  let i = start;
  // Bytes up to a word boundary; the mask's byte for position i is byte (i - start) & 3 of `mask`.
  while (i < end && (i & 3) !== 0) {
    bytes[i] = bytes[i]! ^ ((mask >>> (((i - start) & 3) * 8)) & 0xff);
    i++;
  }
  if (LITTLE_ENDIAN && end - i >= 4) {
    const shift = ((i - start) & 3) * 8;
    const rotated = shift === 0 ? mask : (mask >>> shift) | (mask << (32 - shift));
    const lastWord = end >>> 2;
    for (let w = i >>> 2; w < lastWord; w++) words[w] = words[w]! ^ rotated;
    i = lastWord << 2;
  }
  while (i < end) {
    bytes[i] = bytes[i]! ^ ((mask >>> (((i - start) & 3) * 8)) & 0xff);
    i++;
  }
}
