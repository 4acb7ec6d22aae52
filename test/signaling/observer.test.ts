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
    await expect.poll(() => events.includes('close bob 1000')).toBe(true);

    expect(events).toEqual([
      'open alice',
      'open bob',
      'relay OFFER alice>bob 42',
      'relay CANDIDATE alice>nobody 49',
      'queued alice>nobody',
      'expire nobody to alice',
      'error Invalid message',
      'refused id-taken',
      'id-taken bob',
      'refused key',
      'error Invalid key provided',
      'close bob 1000',
    ]);
  });
});
