// The inbox wire format: one sharded-channel message carries a batch of records (deliveries, kicks, joins, stale-route notices) from one instance.
import type { RemoteDelivery } from './backend.js';

/** One record of an inbox message. */
export type InboxRecord =
  /** A frame for one of our peers. */
  | { type: 'deliver'; delivery: RemoteDelivery }
  /** Another instance took `id` over (same id and token): drop our socket for it. */
  | { type: 'kick'; id: string }
  /** `id`, for which we hold messages, is now connected on `owner`. */
  | { type: 'joined'; owner: string; id: string }
  /** We sent the sender a frame for `id`, which it does not hold: forget where we thought `id` was. */
  | { type: 'stale'; id: string };

/** A decoded inbox message: who sent it, and its records in the order they were written. */
export interface InboxMessage {
  readonly origin: string;
  readonly records: InboxRecord[];
}

/**
 * `<kind><src>\n<dst>\n<length>\n<frame>`. Kind `Q` is queueable (OFFER/ANSWER/CANDIDATE) and `D`
 * is not (LEAVE/EXPIRE); lower case marks a delivery already passed on once by an instance the peer
 * had left, which is never passed on again. `length` is the frame's length in UTF-16 code units (as
 * JavaScript counts it), so frames may hold any character, line breaks included. Ids cannot hold a
 * line break.
 */
export function encodeDelivery(delivery: RemoteDelivery): string {
  const kind = delivery.forwarded === true ? (delivery.queueable ? 'q' : 'd') : delivery.queueable ? 'Q' : 'D';
  return `${kind}${delivery.src}\n${delivery.dst}\n${delivery.frame.length}\n${delivery.frame}`;
}

/** Whether an encoded record is a delivery (the encoders above start it with its kind), not a notice. */
export function isDeliveryRecord(record: string): boolean {
  const kind = record.charCodeAt(0);
  return kind === 0x51 /* Q */ || kind === 0x44 /* D */ || kind === 0x71 /* q */ || kind === 0x64 /* d */;
}

/** `K<id>\n`: drop your socket for `id`. */
export const encodeKick = (id: string): string => `K${id}\n`;
/** `J<owner> <id>\n`: `id` is connected on `owner` now (instance names have no spaces; ids may). */
export const encodeJoined = (owner: string, id: string): string => `J${owner} ${id}\n`;
/** `S<id>\n`: the frame you sent me for `id` found no such peer here. */
export const encodeStale = (id: string): string => `S${id}\n`;

/** An inbox message: the sending instance on the first line, then records written by the encoders above. */
export function encodeInbox(origin: string, records: string): string {
  return `${origin}\n${records}`;
}

const DIGITS = /^\d{1,9}$/;

/**
 * Decodes an inbox message. Undefined when the first line is missing; decoding stops at the first
 * malformed record (the records before it are kept), since nothing after it can be trusted.
 */
export function decodeInbox(message: string): InboxMessage | undefined {
  const headerEnd = message.indexOf('\n');
  if (headerEnd <= 0) return undefined;
  const origin = message.slice(0, headerEnd);
  const records: InboxRecord[] = [];
  let at = headerEnd + 1;
  while (at < message.length) {
    const kind = message.charAt(at);
    if (kind === 'Q' || kind === 'D' || kind === 'q' || kind === 'd') {
      const srcEnd = message.indexOf('\n', at + 1);
      const dstEnd = srcEnd < 0 ? -1 : message.indexOf('\n', srcEnd + 1);
      const lengthEnd = dstEnd < 0 ? -1 : message.indexOf('\n', dstEnd + 1);
      if (lengthEnd < 0) break;
      const length = message.slice(dstEnd + 1, lengthEnd);
      if (!DIGITS.test(length) || lengthEnd + 1 + Number(length) > message.length) break;
      const frameEnd = lengthEnd + 1 + Number(length);
      records.push({
        type: 'deliver',
        delivery: {
          queueable: kind === 'Q' || kind === 'q',
          forwarded: kind === 'q' || kind === 'd',
          src: message.slice(at + 1, srcEnd),
          dst: message.slice(srcEnd + 1, dstEnd),
          frame: message.slice(lengthEnd + 1, frameEnd),
        },
      });
      at = frameEnd;
      continue;
    }
    const end = message.indexOf('\n', at + 1);
    if (end < 0 || end === at + 1) break;
    const body = message.slice(at + 1, end);
    if (kind === 'K') records.push({ type: 'kick', id: body });
    else if (kind === 'S') records.push({ type: 'stale', id: body });
    else if (kind === 'J') {
      const space = body.indexOf(' ');
      if (space <= 0 || space === body.length - 1) break;
      records.push({ type: 'joined', owner: body.slice(0, space), id: body.slice(space + 1) });
    } else break;
    at = end + 1;
  }
  return { origin, records };
}
