// Realm as pure data: queues keep order, expiry looks only at deadlines, one pair per sender and destination.
import { describe, expect, it } from 'vitest';
import { Realm } from '../../src/signaling/realm.js';

describe('Realm queues', () => {
  it('hands queued frames to their destination in order, once', () => {
    const realm = new Realm<null>();
    realm.enqueue('a', 'b', 'one', 100);
    realm.enqueue('c', 'b', 'two', 101);
    realm.enqueue('a', 'x', 'other', 102);
    expect(realm.takeQueued('b')).toEqual([
      { src: 'a', frame: 'one', deadline: 100 },
      { src: 'c', frame: 'two', deadline: 101 },
    ]);
    expect(realm.takeQueued('b')).toEqual([]);
    // Only 'x' still waits: its message is the next (and last) to expire.
    expect(realm.nextDeadline()).toBe(102);
    expect(realm.expire(102)).toEqual([{ src: 'a', dst: 'x' }]);
    expect(realm.nextDeadline()).toBeUndefined();
  });

  it('expires by deadline, reporting each sender/destination pair once and dropping its later messages', () => {
    const realm = new Realm<null>();
    realm.enqueue('a', 'b', 'a1', 100);
    realm.enqueue('a', 'b', 'a2', 150);
    realm.enqueue('c', 'b', 'c1', 160);
    realm.enqueue('a', 'd', 'd1', 170);
    expect(realm.nextDeadline()).toBe(100);
    expect(realm.expire(99)).toEqual([]);
    expect(realm.expire(100)).toEqual([{ src: 'a', dst: 'b' }]);
    // a2 went with a1: 'b' is unavailable to 'a' now.
    expect(realm.nextDeadline()).toBe(160);
    expect(realm.expire(1000)).toEqual([
      { src: 'c', dst: 'b' },
      { src: 'a', dst: 'd' },
    ]);
    expect(realm.nextDeadline()).toBeUndefined();
    expect(realm.takeQueued('b')).toEqual([]);
    expect(realm.takeQueued('d')).toEqual([]);
  });

  it('does not expire what was already delivered', () => {
    const realm = new Realm<null>();
    realm.enqueue('a', 'b', 'x', 100);
    realm.enqueue('a', 'c', 'y', 200);
    expect(realm.takeQueued('b')).toEqual([{ src: 'a', frame: 'x', deadline: 100 }]);
    expect(realm.nextDeadline()).toBe(200);
    expect(realm.expire(150)).toEqual([]);
  });

  it('stays correct across many enqueue/expire cycles (timeline compaction)', () => {
    const realm = new Realm<null>();
    let now = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) realm.enqueue(`s${i}`, `d${round}`, 'f', now + 10);
      if (round % 2 === 0) expect(realm.takeQueued(`d${round}`)).toHaveLength(100);
      now += 10;
      const expired = realm.expire(now);
      expect(expired).toHaveLength(round % 2 === 0 ? 0 : 100);
    }
    expect(realm.nextDeadline()).toBeUndefined();
  });
});
