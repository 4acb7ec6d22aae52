// The pub/sub wire format: messages in an instance's inbox (deliveries, kicks) and cluster events (joins, leaves, instances gone).
import type { RemoteDelivery } from './backend.js';

/** What arrived in this instance's inbox channel. */
export type InboxMessage =
  /** A frame for one of our peers. */
  | { type: 'deliver'; delivery: RemoteDelivery }
  /** Another instance took `id` over (same id and token): drop our socket for it. */
  | { type: 'kick'; id: string };

/** What arrived on the events channel, which every instance receives. */
export type ClusterEvent =
  /** `id` connected on `instance`. */
  | { type: 'joined'; instance: string; id: string }
  /** `id` left `instance`. */
  | { type: 'left'; instance: string; id: string }
  /** `instance` was reaped (its lease ran out, or it closed): all its ids are free. */
  | { type: 'gone'; instance: string };

/**
 * `<kind><src>\n<dst>\n<frame>`. Kind `Q` is queueable (OFFER/ANSWER/CANDIDATE) and `D` is not
 * (LEAVE/EXPIRE); lower case marks a delivery already passed on once by an instance the peer had
 * left, which is never passed on again. Ids cannot contain a line break; the frame may.
 */
export function encodeDelivery(delivery: RemoteDelivery): string {
  const kind = delivery.forwarded === true ? (delivery.queueable ? 'q' : 'd') : delivery.queueable ? 'Q' : 'D';
  return `${kind}${delivery.src}\n${delivery.dst}\n${delivery.frame}`;
}

/** A delivery (see encodeDelivery) or a kick, `K<id>`, which only the claim script sends. Undefined when malformed. */
export function decodeInbox(message: string): InboxMessage | undefined {
  const kind = message.charAt(0);
  if (kind === 'K') return message.length > 1 ? { type: 'kick', id: message.slice(1) } : undefined;
  if (kind !== 'Q' && kind !== 'D' && kind !== 'q' && kind !== 'd') return undefined;
  const firstBreak = message.indexOf('\n');
  const secondBreak = message.indexOf('\n', firstBreak + 1);
  if (firstBreak < 0 || secondBreak < 0) return undefined;
  return {
    type: 'deliver',
    delivery: {
      queueable: kind === 'Q' || kind === 'q',
      forwarded: kind === 'q' || kind === 'd',
      src: message.slice(1, firstBreak),
      dst: message.slice(firstBreak + 1, secondBreak),
      frame: message.slice(secondBreak + 1),
    },
  };
}

/**
 * `J <instance> <id>`, `L <instance> <id>` or `X <instance>`, as the Lua scripts publish them.
 * Ids may contain single spaces, so the id is everything after the second space. Undefined when malformed.
 */
export function decodeEvent(message: string): ClusterEvent | undefined {
  const firstSpace = message.indexOf(' ');
  if (firstSpace < 0) return undefined;
  const secondSpace = message.indexOf(' ', firstSpace + 1);
  const kind = message.slice(0, firstSpace);
  const instance = message.slice(firstSpace + 1, secondSpace < 0 ? undefined : secondSpace);
  if (instance === '') return undefined;
  if (kind === 'X') return { type: 'gone', instance };
  const id = secondSpace < 0 ? '' : message.slice(secondSpace + 1);
  if (id === '') return undefined;
  if (kind === 'J') return { type: 'joined', instance, id };
  if (kind === 'L') return { type: 'left', instance, id };
  return undefined;
}
