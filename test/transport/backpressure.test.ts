// Backpressure: no sender can get a reading receiver disconnected; congestion costs the sender, only a reader that stops goes.
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import type { TestClient, WireMessage } from '../support/peer-client.js';
import { connectPaced, type PacedPeer } from '../support/paced-peer.js';
import { serverPerTest } from '../support/server-per-test.js';

const fixture = serverPerTest();
const peer = (id: string, token?: string): Promise<TestClient> => fixture.peer(id, token);
const start = (config: Partial<Config>): Promise<unknown> => fixture.start(config);

/** A peer that reads at a pace the test sets, destroyed after the test. */
async function pacedPeer(id: string): Promise<PacedPeer> {
  const paced = await connectPaced(fixture.server, id);
  fixture.cleanup(() => paced.destroy());
  return paced;
}

/** An OFFER of about 64 KB (under the default 64 KiB frame limit) carrying its sequence number. */
function bigOffer(dst: string, seq: number): string {
  return JSON.stringify({ type: 'OFFER', dst, payload: { seq, pad: 'x'.repeat(64_000) } });
}

/** Sequence numbers of the frames `peer` received from `src`, in arrival order. */
function seqsFrom(peer: PacedPeer, src: string): number[] {
  return peer.texts
    .map((text) => JSON.parse(text) as WireMessage)
    .filter((message) => message.src === src && typeof (message.payload as { seq?: unknown } | undefined)?.seq === 'number')
    .map((message) => (message.payload as { seq: number }).seq);
}

function count(messages: WireMessage[], predicate: (message: WireMessage) => boolean): number {
  return messages.filter(predicate).length;
}

/** Every frame the test client has received so far, taken from its buffer without waiting. */
function received(client: TestClient): WireMessage[] {
  return client.texts.map((text) => JSON.parse(text) as WireMessage);
}

/** The victim keeps its id: another socket claiming it with another token gets ID-TAKEN. */
async function expectIdStillHeld(id: string): Promise<void> {
  const thief = fixture.raw({ key: 'peerjs', id, token: 'thief-token' });
  expect(await thief.next(5000)).toMatchObject({ type: 'ID-TAKEN' });
}

describe('a sender bursting large frames at a reader of 1 MB/s', () => {
  it('with the default limits: the byte rate cuts the sender off, the reader keeps its connection, its id and every frame relayed', async () => {
    await start({});
    const victim = await pacedPeer('victim');
    victim.readAt(1_000_000);
    const attacker = await peer('attacker');
    const total = 190;
    for (let seq = 0; seq < total; seq++) attacker.sendRaw(bigOffer('victim', seq));
    expect(await attacker.closed).toBe(1008);
    expect(received(attacker)).toContainEqual({ type: 'ERROR', payload: { msg: expect.stringMatching(/^Rate limit exceeded/) } });

    // Whatever the server relayed before the cut reaches the victim, in order and without gaps: a
    // marker sent after the cut arrives after all of it.
    victim.readAt(Infinity);
    await expectIdStillHeld('victim');
    const friend = await peer('friend');
    friend.send({ type: 'CANDIDATE', dst: 'victim', payload: 'marker' });
    await expect.poll(() => victim.texts.some((text) => text.includes('"marker"')), { timeout: 10_000 }).toBe(true);
    const relayed = seqsFrom(victim, 'attacker');
    // The default byte burst (1 MiB) lets about 16 of these through.
    expect(relayed.length).toBeGreaterThanOrEqual(15);
    expect(relayed.length).toBeLessThan(total);
    expect(relayed).toEqual([...relayed.keys()]);
    expect(victim.closeCode()).toBeUndefined();
    expect(victim.socket.destroyed).toBe(false);
  }, 30_000);

  it('with no rate limits: congestion is refused to the senders (EXPIRE), the reader stays, and gets every frame not refused', async () => {
    // Only backpressure protects the victim here. It stays congested for longer than the (default)
    // stall timeout: a slow reader is never taken for a stalled one.
    await start({ rateLimitPerSec: 0, rateBytesPerSec: 0, maxBufferedBytes: 1024 * 1024 });
    const victim = await pacedPeer('victim');
    victim.readAt(1_000_000);
    const attacker = await peer('attacker');
    const friend = await peer('friend');
    // Refusals come back as EXPIRE from the victim's id, one per refused frame.
    const refused = (client: TestClient): number => count(received(client), (m) => m.type === 'EXPIRE' && m.src === 'victim');

    // Waves of 20 frames (1.3 MB) every 100 ms for 6 s from the attacker, and a legitimate sender
    // talking to the victim meanwhile. The victim, reading 1 MB/s, falls megabytes behind within the
    // first second and stays behind, for longer than the 5 s stall timeout.
    let total = 0;
    let friendly = 0;
    const attackEnds = performance.now() + 6000;
    while (performance.now() < attackEnds) {
      for (let i = 0; i < 20; i++) attacker.sendRaw(bigOffer('victim', total++));
      friend.send({ type: 'CANDIDATE', dst: 'victim', payload: { seq: friendly++ } });
      // Pacing the load, not synchronisation: the checks below wait for outcomes.
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await expect.poll(() => attacker.ws.bufferedAmount, { timeout: 60_000 }).toBe(0);
    expect(refused(attacker)).toBeGreaterThan(0);

    // Now read as fast as possible and account for every frame.
    victim.readAt(Infinity);
    await expect
      .poll(() => refused(attacker) + seqsFrom(victim, 'attacker').length, { timeout: 60_000, interval: 100 })
      .toBe(total);
    await expect.poll(() => refused(friend) + seqsFrom(victim, 'friend').length, { timeout: 10_000 }).toBe(friendly);
    for (const src of ['attacker', 'friend']) {
      const seqs = seqsFrom(victim, src);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    expect(victim.closeCode()).toBeUndefined();
    expect(victim.socket.destroyed).toBe(false);
    await expectIdStillHeld('victim');
    // And it still relays both ways.
    victim.send(JSON.stringify({ type: 'ANSWER', dst: 'friend', payload: 'still here' }));
    await expect.poll(() => received(friend).some((m) => m.type === 'ANSWER' && m.payload === 'still here'), { timeout: 5000 }).toBe(true);
  }, 120_000);
});

describe('a reader that stops reading', () => {
  it('is refused to senders while congested, disconnected after stallTimeoutMs without progress, and its id is free', async () => {
    await start({ rateLimitPerSec: 0, rateBytesPerSec: 0, maxBufferedBytes: 64 * 1024, stallTimeoutMs: 500, expireTimeoutMs: 300 });
    const sleeper = await pacedPeer('sleeper');
    sleeper.readAt(0);
    const sender = await peer('sender');
    const bob = await peer('bob');
    // The kernel's buffers take a few MB first; send until the server refuses (an EXPIRE comes back).
    let seq = 0;
    await expect
      .poll(
        () => {
          for (let i = 0; i < 20; i++) sender.sendRaw(bigOffer('sleeper', seq++));
          return received(sender).some((m) => m.type === 'EXPIRE' && m.src === 'sleeper');
        },
        { timeout: 30_000, interval: 50 },
      )
      .toBe(true);
    // Others are unaffected meanwhile.
    sender.send({ type: 'CANDIDATE', dst: 'bob', payload: 'during' });
    expect(await bob.next()).toMatchObject({ src: 'sender', payload: 'during' });
    await expect.poll(() => fixture.server.peerCount, { timeout: 10_000 }).toBe(2);
    // The server dropped the connection: once the client reads what its kernel holds, it sees the end.
    sleeper.readAt(Infinity);
    await sleeper.closed;
    // Gone: its id can be taken by someone else.
    await peer('sleeper', 'another-token');
  }, 60_000);
});
