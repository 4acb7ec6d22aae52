// The pub/sub wire format of cluster mode: deliveries survive a round trip, kicks and events decode, malformed input is ignored.
import { describe, expect, it } from 'vitest';
import type { RemoteDelivery } from '../../src/cluster/backend.js';
import { decodeEvent, decodeInbox, encodeDelivery } from '../../src/cluster/redis-messages.js';

const OFFER = JSON.stringify({ type: 'OFFER', src: 'alice', dst: 'bob', payload: { sdp: 'v=0\r\n' } });

describe('inbox deliveries', () => {
  it.each<[string, RemoteDelivery]>([
    ['Q', { src: 'alice', dst: 'bob', frame: OFFER, queueable: true, forwarded: false }],
    ['D', { src: 'alice', dst: 'bob', frame: '{"type":"LEAVE","src":"alice","dst":"bob"}', queueable: false, forwarded: false }],
    ['q', { src: 'alice', dst: 'bob', frame: OFFER, queueable: true, forwarded: true }],
    ['d', { src: 'alice', dst: 'bob', frame: '{"type":"EXPIRE"}', queueable: false, forwarded: true }],
    ['Q', { src: 'my peer', dst: 'your-peer_2 b', frame: OFFER, queueable: true, forwarded: false }],
    ['D', { src: 'a', dst: 'b', frame: 'line one\nline two\n', queueable: false, forwarded: false }],
    ['D', { src: 'a', dst: 'b', frame: '', queueable: false, forwarded: false }],
  ])('%s: %j round-trips', (kind, delivery) => {
    const message = encodeDelivery(delivery);
    expect(message.charAt(0)).toBe(kind);
    expect(decodeInbox(message)).toEqual({ type: 'deliver', delivery });
  });

  it('writes the documented format: <kind><src>\\n<dst>\\n<frame>', () => {
    expect(encodeDelivery({ src: 'a b', dst: 'c', frame: '{}', queueable: true })).toBe('Qa b\nc\n{}');
  });

  it('decodes kicks, ids with spaces included', () => {
    expect(decodeInbox('Kalice')).toEqual({ type: 'kick', id: 'alice' });
    expect(decodeInbox('Kmy peer 2')).toEqual({ type: 'kick', id: 'my peer 2' });
  });

  it.each(['', 'K', 'X', 'Zalice\nbob\n{}', 'Qalice', 'Qalice\nbob', 'q\n', ' alice\nbob\n{}'])('ignores malformed %j', (message) => {
    expect(decodeInbox(message)).toBeUndefined();
  });
});

describe('cluster events', () => {
  it.each([
    ['J 0123456789ab alice', { type: 'joined', instance: '0123456789ab', id: 'alice' }],
    ['J 0123456789ab my peer 2', { type: 'joined', instance: '0123456789ab', id: 'my peer 2' }],
    ['L 0123456789ab alice', { type: 'left', instance: '0123456789ab', id: 'alice' }],
    ['L 0123456789ab my peer', { type: 'left', instance: '0123456789ab', id: 'my peer' }],
    ['X 0123456789ab', { type: 'gone', instance: '0123456789ab' }],
  ])('decodes %j', (message, event) => {
    expect(decodeEvent(message)).toEqual(event);
  });

  it.each(['', 'J', 'J ', 'J 0123456789ab', 'J 0123456789ab ', 'L 0123456789ab', 'X', 'X ', 'J  alice', 'Q 0123456789ab alice', 'Jx 0123456789ab alice'])(
    'ignores malformed %j',
    (message) => {
      expect(decodeEvent(message)).toBeUndefined();
    },
  );
});
