// The terminal view: peer events, then one time-ordered sequence per pair with arrows the way messages went, failures marked.
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { parseTranscript, type TranscriptEvent } from '../../src/transcript/read.js';
import { cleanForTerminal, renderText } from '../../src/transcript/render-text.js';

const plain = new Chalk({ level: 0 });

const SESSION = parseTranscript(
  [
    '{"t":0.8,"event":"open","id":"alice"}',
    '{"t":2.1,"event":"open","id":"bob"}',
    '{"t":10.4,"event":"relay","type":"OFFER","src":"alice","dst":"bob","bytes":512,"queuedMs":0,"summary":{"connection":"data","sdp":{"type":"offer","media":[{"kind":"application"}]}}}',
    '{"t":14.2,"event":"relay","type":"ANSWER","src":"bob","dst":"alice","bytes":498,"queuedMs":0,"summary":{"connection":"data","sdp":{"type":"answer","media":[{"kind":"application"}]}}}',
    '{"t":20.3,"event":"fault-drop","type":"CANDIDATE","src":"alice","dst":"bob"}',
    '{"t":21,"event":"relay","type":"CANDIDATE","src":"bob","dst":"alice","bytes":200,"queuedMs":0,"summary":{"candidate":{"type":"host","transport":"udp"}}}',
    '{"t":30.5,"event":"queued","src":"alice","dst":"carol"}',
    '{"t":131.6,"event":"expire","src":"carol","dst":"alice"}',
    '{"t":150.2,"event":"id-taken","id":"bob"}',
    '{"t":150.3,"event":"refused","reason":"id-taken","id":"bob"}',
    '{"t":160,"event":"fault-delay","type":"OFFER","src":"bob","dst":"alice","ms":200}',
    '{"t":360.1,"event":"relay","type":"OFFER","src":"bob","dst":"alice","bytes":512,"queuedMs":0}',
    '{"t":361,"event":"relay","type":"OFFER","src":"dave","dst":"carol","bytes":512,"queuedMs":1204}',
    '{"t":400,"event":"dropped","count":12}',
    '{"t":410,"event":"leave","id":"alice"}',
    '{"t":411.2,"event":"close","id":"alice","code":1000}',
  ].join('\n'),
).events;

describe('renderText', () => {
  it('shows peer events, then each pair in time order, with arrows pointing the way each message went', () => {
    expect(renderText(SESSION, { title: 'session.ndjson', colors: plain })).toBe(
      [
        'session.ndjson: 4 peers, 5 messages, 6 failures (0.001 s to 0.411 s)',
        '',
        'peers',
        '  0.001  alice  open',
        '  0.002  bob    open',
        '  0.150  bob    ✗ ID-TAKEN  another client asked for this id and was turned away',
        '  0.150  bob    ✗ refused  id-taken',
        '  0.400         ✗ dropped  12 events not written: the transcript fell behind',
        '  0.410  alice  leave',
        '  0.411  alice  close 1000',
        '',
        'alice ⇄ bob',
        '  0.010  alice ──OFFER─────────▶ bob  offer: application (data)',
        '  0.014  alice ◀─ANSWER───────── bob  answer: application (data)',
        '  0.020  alice ──CANDIDATE─────✕ bob  ✗ dropped by fault injection',
        '  0.021  alice ◀─CANDIDATE────── bob  candidate host/udp',
        '  0.160  alice ◀┄OFFER┄┄┄┄┄┄┄┄┄┄ bob  ✗ held 200 ms by fault injection',
        '  0.360  alice ◀─OFFER────────── bob',
        '',
        'alice ⇄ carol',
        '  0.031  alice ┄┄queued┄┄┄┄┄┄┄┄▷ carol  carol is not connected: the message waits for it',
        '  0.132  alice ◀─EXPIRE───────── carol  ✗ from the server: carol is unavailable',
        '',
        'carol ⇄ dave',
        '  0.361  carol ◀─OFFER────────── dave  waited 1204 ms in the queue',
        '',
      ].join('\n'),
    );
  });

  it('keeps time, ids and arrow within 80 columns for ids of 20 characters, notes after them', () => {
    const longer = (id: string): string => `${id}-${'x'.repeat(19 - id.length)}`;
    const ids = (event: TranscriptEvent): TranscriptEvent =>
      'src' in event ? { ...event, src: longer(event.src), dst: longer(event.dst) } : event;
    const text = renderText(SESSION.map(ids), { title: 'x', colors: plain });
    const arrows = text.split('\n').filter((row) => /[▶◀▷✕]/.test(row));
    expect(arrows).toHaveLength(9);
    // '  time  left ARROW right  note': the diagram is everything before the note.
    for (const line of arrows) expect([...line.split('  ').slice(0, 3).join('  ')].length).toBeLessThanOrEqual(80);
  });

  it('colours on request: failures red, arrows blue, times dim', () => {
    const text = renderText(SESSION, { title: 'session.ndjson', colors: new Chalk({ level: 1 }) });
    expect(text).toContain('\u001b[31m✗ from the server: carol is unavailable\u001b[39m');
    expect(text).toContain('\u001b[34m──OFFER─────────▶\u001b[39m');
    expect(text).toContain('\u001b[2m0.010\u001b[22m');
  });

  it('has no escape sequence when plain', () => {
    expect(renderText(SESSION, { title: 'x', colors: plain })).not.toMatch(/\u001b/);
  });

  it('says so when there is nothing to show', () => {
    expect(renderText([], { title: 'empty.ndjson', colors: plain })).toBe('empty.ndjson: no events\n');
  });

  it('never lets an id or message from the file drive the terminal', () => {
    const hostile: TranscriptEvent[] = [
      { t: 1, event: 'open', id: 'evil\u001b[2J\u001b]0;pwned\u0007' },
      { t: 2, event: 'error', id: 'x', msg: 'bad\r\nline\u202e' },
      { t: 3, event: 'relay', type: 'OF\u001bFER', src: 'a\u009b', dst: 'b', bytes: 1, queuedMs: 0 },
    ];
    const text = renderText(hostile, { title: 't\u001b', colors: plain });
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(text).toContain('evil\\u001b[2J\\u001b]0;pwned\\u0007');
    expect(text).toContain('bad\\u000d\\u000aline\\u202e');
    expect(cleanForTerminal('plain ids stay as they are: alice_1-b')).toBe('plain ids stay as they are: alice_1-b');
  });
});
