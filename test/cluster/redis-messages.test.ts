// The inbox wire format of cluster mode: batches of deliveries and notices survive a round trip, malformed input is cut off, never misread.
import { describe, expect, it } from 'vitest';
import type { RemoteDelivery } from '../../src/cluster/backend.js';
import { decodeInbox, encodeDelivery, encodeInbox, encodeJoined, encodeKick, encodeStale } from '../../src/cluster/redis-messages.js';

const OFFER = JSON.stringify({ type: 'OFFER', src: 'alice', dst: 'bob', payload: { sdp: 'v=0\r\n' } });
const ORIGIN = '0123456789ab';

describe('inbox deliveries', () => {
  it.each<[string, RemoteDelivery]>([
    ['Q', { src: 'alice', dst: 'bob', frame: OFFER, queueable: true, forwarded: false }],
    ['D', { src: 'alice', dst: 'bob', frame: '{"type":"LEAVE","src":"alice","dst":"bob"}', queueable: false, forwarded: false }],
    ['q', { src: 'alice', dst: 'bob', frame: OFFER, queueable: true, forwarded: true }],
    ['d', { src: 'alice', dst: 'bob', frame: '{"type":"EXPIRE"}', queueable: false, forwarded: true }],
    ['Q', { src: 'my peer', dst: 'your-peer_2 b', frame: OFFER, queueable: true, forwarded: false }],
    ['D', { src: 'a', dst: 'b', frame: 'line one\nline two\n', queueable: false, forwarded: false }],
    ['D', { src: 'a', dst: 'b', frame: '', queueable: false, forwarded: false }],
    ['Q', { src: 'a', dst: 'b', frame: '{"payload":"ünïcödé 🎉\\n"}', queueable: true, forwarded: false }],
  ])('%s: %j round-trips', (kind, delivery) => {
    const record = encodeDelivery(delivery);
    expect(record.charAt(0)).toBe(kind);
    expect(decodeInbox(encodeInbox(ORIGIN, record))).toEqual({ origin: ORIGIN, records: [{ type: 'deliver', delivery }] });
  });

  it('writes the documented format: <origin>\\n then <kind><src>\\n<dst>\\n<length>\\n<frame>', () => {
    expect(encodeInbox(ORIGIN, encodeDelivery({ src: 'a b', dst: 'c', frame: '{}', queueable: true }))).toBe(`${ORIGIN}\nQa b\nc\n2\n{}`);
  });

  it('keeps a batch of records in order: deliveries whose frames hold line breaks, kicks, joins and stale notices', () => {
    const deliveries: RemoteDelivery[] = [0, 1, 2].map((i) => ({
      src: 'alice',
      dst: 'bob',
      frame: `{"i":${i}}\nK${i}\n`,
      queueable: true,
      forwarded: false,
    }));
    const message = encodeInbox(
      ORIGIN,
      encodeDelivery(deliveries[0]!) +
        encodeKick('carol smith') +
        encodeDelivery(deliveries[1]!) +
        encodeJoined('ba9876543210', 'dave 2') +
        encodeStale('erin') +
        encodeDelivery(deliveries[2]!),
    );
    expect(decodeInbox(message)).toEqual({
      origin: ORIGIN,
      records: [
        { type: 'deliver', delivery: deliveries[0] },
        { type: 'kick', id: 'carol smith' },
        { type: 'deliver', delivery: deliveries[1] },
        { type: 'joined', owner: 'ba9876543210', id: 'dave 2' },
        { type: 'stale', id: 'erin' },
        { type: 'deliver', delivery: deliveries[2] },
      ],
    });
  });

  it('drops what follows a malformed record: a bad length would misplace every record after it', () => {
    expect(decodeInbox(`${ORIGIN}\nQalice\nbob\nx\n{}${encodeKick('after')}`)).toEqual({ origin: ORIGIN, records: [] });
  });

  it.each(['', 'no header', '\nKalice\n'])('ignores a message without an origin line: %j', (message) => {
    expect(decodeInbox(message)).toBeUndefined();
  });

  it.each([
    ['an unknown kind', 'Zalice\nbob\n2\n{}'],
    ['a delivery without its length', 'Qalice\nbob\n{}'],
    ['a length that is not a number', 'Qalice\nbob\nx\n{}'],
    ['a frame shorter than its length', 'Qalice\nbob\n9\n{}'],
    ['a kick without an id', 'K\n'],
    ['a kick without its line break', 'Kalice'],
    ['a join without an id', 'Jba9876543210\n'],
    ['a join with an empty id', 'Jba9876543210 \n'],
    ['a record cut short', 'Qalice'],
  ])('stops at %s (the last record), keeping the records before it', (_, bad) => {
    const first = encodeKick('first');
    expect(decodeInbox(`${ORIGIN}\n${first}${bad}`)).toEqual({
      origin: ORIGIN,
      records: [{ type: 'kick', id: 'first' }],
    });
  });
});
