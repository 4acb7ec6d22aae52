// The observer hears what happens, once each: opens, closes, relays, queueing, EXPIREs, ERRORs, ID-TAKENs and refusals.
import { describe, expect, it } from 'vitest';
import type { RefusalReason, SignalingObserver } from '../../src/signaling/observer.js';
import { serverPerTest } from '../support/server-per-test.js';

const fixture = serverPerTest();

function recorder(): { observer: SignalingObserver; events: string[] } {
  const events: string[] = [];
  return {
    events,
    observer: {
      peerOpened: (id, reconnected) => events.push(`open ${id}${reconnected ? ' again' : ''}`),
      peerClosed: (id, code) => events.push(`close ${id} ${code}`),
      relayed: (type, src, dst, bytes) => events.push(`relay ${type} ${src}>${dst} ${bytes}`),
      delivered: (src, dst, _frame, queuedMs) => events.push(`delivered ${src}>${dst}${queuedMs > 0 ? ' after waiting' : ''}`),
      left: (id) => events.push(`left ${id}`),
      faulted: (type, src, dst, delayMs) => events.push(`fault ${delayMs === undefined ? 'drop' : 'delay'} ${type} ${src}>${dst}`),
      queued: (src, dst) => events.push(`queued ${src}>${dst}`),
      expireSent: (src, dst) => events.push(`expire ${dst} to ${src}`),
      errorSent: (message) => events.push(`error ${message.split(':')[0]}`),
      idTaken: (id) => events.push(`id-taken ${id}`),
      refused: (reason: RefusalReason) => events.push(`refused ${reason}`),
    },
  };
}

describe('the signaling observer', () => {
  it('hears each event once, as the clients see it', async () => {
    const { observer, events } = recorder();
    await fixture.start({ expireTimeoutMs: 200 }, { observer });
    // (expireTimeoutMs is short so the EXPIRE for 'nobody' comes quickly; 'dave' connects right after its OFFER.)
    const alice = await fixture.peer('alice');
    const bob = await fixture.peer('bob');
    alice.send({ type: 'OFFER', dst: 'bob', payload: 'x' });
    expect(await bob.next()).toMatchObject({ type: 'OFFER', src: 'alice' });
    alice.send({ type: 'CANDIDATE', dst: 'nobody', payload: 'y' });
    expect(await alice.next()).toMatchObject({ type: 'EXPIRE', src: 'nobody' });
    alice.sendRaw('{"type":');
    expect(await alice.next()).toMatchObject({ type: 'ERROR' });
    const thief = fixture.raw({ key: 'peerjs', id: 'bob', token: 'other' });
    expect(await thief.next()).toMatchObject({ type: 'ID-TAKEN' });
    const wrongKey = fixture.raw({ key: 'nope', id: 'carol', token: 't' });
    expect(await wrongKey.next()).toMatchObject({ type: 'ERROR' });
    bob.ws.close(1000);
    await bob.closed;
    await expect.poll(() => events.includes('close bob 1000'), { timeout: 5000 }).toBe(true);

    // What waited for an absent peer is delivered when it connects, with the time it waited.
    alice.send({ type: 'OFFER', dst: 'dave', payload: 'z' });
    await expect.poll(() => events.includes('queued alice>dave'), { timeout: 5000 }).toBe(true);
    const dave = await fixture.peer('dave');
    expect(await dave.next()).toMatchObject({ type: 'OFFER', src: 'alice' });
    alice.send({ type: 'LEAVE' });
    await alice.closed;

    expect(events).toEqual([
      'open alice',
      'open bob',
      'relay OFFER alice>bob 42',
      'delivered alice>bob',
      'relay CANDIDATE alice>nobody 49',
      'queued alice>nobody',
      'expire nobody to alice',
      'error Invalid message',
      'refused id-taken',
      'id-taken bob',
      'refused key',
      'error Invalid key provided',
      'close bob 1000',
      'relay OFFER alice>dave 43',
      'queued alice>dave',
      'open dave',
      'delivered alice>dave after waiting',
      'left alice',
      'close alice 1000',
    ]);
  });
});

describe('fault injection', () => {
  it('drops and delays relayed messages by type, seeded, and tells the observer', async () => {
    const { observer, events } = recorder();
    await fixture.start({ faults: { drop: { CANDIDATE: 1 }, delayMs: { OFFER: 300 } } }, { observer });
    const alice = await fixture.peer('alice');
    const bob = await fixture.peer('bob');
    alice.send({ type: 'CANDIDATE', dst: 'bob', payload: 'dropped' });
    const sentAt = performance.now();
    alice.send({ type: 'OFFER', dst: 'bob', payload: 'held' });
    alice.send({ type: 'ANSWER', dst: 'bob', payload: 'not held' });
    expect(await bob.next()).toMatchObject({ type: 'ANSWER', payload: 'not held' });
    expect(await bob.next()).toMatchObject({ type: 'OFFER', payload: 'held' });
    expect(performance.now() - sentAt).toBeGreaterThanOrEqual(290);
    expect(bob.pending).toEqual([]);
    expect(events.filter((event) => event.startsWith('fault'))).toEqual(['fault drop CANDIDATE alice>bob', 'fault delay OFFER alice>bob']);
  });

  it('the same seed drops the same messages', async () => {
    const dropped = async (seed: number): Promise<number[]> => {
      const { observer, events } = recorder();
      await fixture.start({ faults: { drop: { CANDIDATE: 0.5 }, seed } }, { observer });
      const alice = await fixture.peer('alice');
      const bob = await fixture.peer('bob');
      for (let i = 0; i < 40; i++) alice.send({ type: 'CANDIDATE', dst: 'bob', payload: i });
      alice.send({ type: 'OFFER', dst: 'bob', payload: 'end' });
      const got: number[] = [];
      for (;;) {
        const message = await bob.next();
        if (message.type === 'OFFER') break;
        got.push(message.payload as number);
      }
      expect(events.filter((event) => event.startsWith('fault drop')).length).toBe(40 - got.length);
      await fixture.server.close();
      return got;
    };
    const first = await dropped(7);
    expect(first.length).toBeGreaterThan(5);
    expect(first.length).toBeLessThan(35);
    expect(await dropped(7)).toEqual(first);
  });
});
