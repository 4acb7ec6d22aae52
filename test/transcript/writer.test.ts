// The transcript file: one NDJSON event per line, in order, with payload summaries; bounded when the disk falls behind.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTranscript } from '../../src/transcript/writer.js';
import { serverPerTest } from '../support/server-per-test.js';

const fixture = serverPerTest();
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempFile(name: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'peer-signal-transcript-'));
  dirs.push(dir);
  return path.join(dir, name);
}

function lines(file: string): Array<Record<string, unknown>> {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const SDP = 'v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=fingerprint:sha-256 AA:BB\r\n';

describe('the transcript', () => {
  it('records a session as NDJSON events with monotonic times and payload summaries', async () => {
    const file = tempFile('session.ndjson');
    const transcript = createTranscript({ file, payloads: false });
    await fixture.start({ expireTimeoutMs: 100 }, { observer: transcript.observer });
    const alice = await fixture.peer('alice');
    const bob = await fixture.peer('bob');
    alice.send({ type: 'OFFER', dst: 'bob', payload: { sdp: { type: 'offer', sdp: SDP }, type: 'data', connectionId: 'dc_1' } });
    await bob.next();
    alice.send({ type: 'CANDIDATE', dst: 'carol', payload: { candidate: { candidate: 'candidate:1 1 udp 1 10.0.0.1 5 typ host' } } });
    expect(await alice.next()).toMatchObject({ type: 'EXPIRE' });
    const thief = fixture.raw({ key: 'peerjs', id: 'bob', token: 'x' });
    await thief.next();
    alice.send({ type: 'LEAVE' });
    await alice.closed;
    await fixture.server.close();
    await transcript.close();

    const events = lines(file);
    expect(events.map((event) => event.event)).toEqual([
      'open', 'open', 'relay', 'queued', 'expire', 'refused', 'id-taken', 'leave', 'close', 'close',
    ]);
    const times = events.map((event) => event.t as number);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(events[2]).toMatchObject({
      event: 'relay',
      type: 'OFFER',
      src: 'alice',
      dst: 'bob',
      queuedMs: 0,
      summary: { connection: 'data', connectionId: 'dc_1', sdp: { type: 'offer', media: [{ kind: 'application' }] } },
    });
    expect(JSON.stringify(events[2])).not.toContain('fingerprint');
    expect(events[3]).toMatchObject({ event: 'queued', src: 'alice', dst: 'carol' });
    expect(events[4]).toMatchObject({ event: 'expire', src: 'carol', dst: 'alice' });
    expect(events[5]).toMatchObject({ event: 'refused', reason: 'id-taken' });
    expect(events[8]).toMatchObject({ event: 'close', id: 'alice', code: 1000 });
    expect(events[9]).toMatchObject({ event: 'close', id: 'bob', code: 1001 });
  });

  it('keeps payloads whole with payloads: true', async () => {
    const file = tempFile('whole.ndjson');
    const transcript = createTranscript({ file, payloads: true });
    await fixture.start({}, { observer: transcript.observer });
    const alice = await fixture.peer('alice');
    const bob = await fixture.peer('bob');
    const payload = { sdp: { type: 'offer', sdp: SDP }, type: 'data' };
    alice.send({ type: 'OFFER', dst: 'bob', payload });
    await bob.next();
    await transcript.close();
    expect(lines(file).find((event) => event.event === 'relay')).toMatchObject({ payload });
  });

  it('counts events it could not write, and says how many, instead of growing without bound', async () => {
    const file = tempFile('small.ndjson');
    // A cap smaller than two lines: once one line waits, the rest are dropped until the file catches up.
    const transcript = createTranscript({ file, payloads: false, maxPendingBytes: 10 });
    for (let i = 0; i < 100; i++) transcript.observer.peerOpened(`p${i}`, false);
    expect(transcript.dropped).toBe(99);
    await transcript.close();
    expect(lines(file)).toEqual([
      { t: expect.any(Number), event: 'open', id: 'p0' },
      { t: expect.any(Number), event: 'dropped', count: 99 },
    ]);
  });

  it('refuses a path it cannot write, at once', () => {
    expect(() => createTranscript({ file: '/nonexistent-dir/x.ndjson', payloads: false })).toThrow(/ENOENT/);
  });
});
