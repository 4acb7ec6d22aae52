// Reading a transcript: every event the writer writes comes back typed; a bad line is skipped with its line number.
import { describe, expect, it } from 'vitest';
import { parseTranscript } from '../../src/transcript/read.js';

const EVERY_EVENT = [
  { t: 0.4, event: 'open', id: 'alice' },
  { t: 0.9, event: 'open', id: 'bob', reconnected: true },
  {
    t: 10.2,
    event: 'relay',
    type: 'OFFER',
    src: 'alice',
    dst: 'bob',
    bytes: 812,
    queuedMs: 0,
    summary: { connection: 'data', connectionId: 'dc_1', sdp: { type: 'offer', media: [{ kind: 'application' }] } },
  },
  { t: 11, event: 'relay', type: 'ANSWER', src: 'bob', dst: 'alice', bytes: 700, queuedMs: 3, payload: { sdp: { type: 'answer', sdp: '' } } },
  { t: 12, event: 'queued', src: 'alice', dst: 'carol' },
  { t: 112, event: 'expire', src: 'carol', dst: 'alice' },
  { t: 113, event: 'error', id: 'mallory', msg: 'Invalid key provided' },
  { t: 113.1, event: 'error', msg: 'No id, token, or key supplied to websocket server' },
  { t: 114, event: 'id-taken', id: 'bob' },
  { t: 114.1, event: 'refused', reason: 'id-taken', id: 'bob' },
  { t: 114.2, event: 'refused', reason: 'path' },
  { t: 120, event: 'fault-drop', type: 'CANDIDATE', src: 'alice', dst: 'bob' },
  { t: 121, event: 'fault-delay', type: 'OFFER', src: 'bob', dst: 'alice', ms: 200 },
  { t: 130, event: 'dropped', count: 12 },
  { t: 140, event: 'leave', id: 'alice' },
  { t: 141, event: 'close', id: 'alice', code: 1000 },
];

const ndjson = (lines: readonly unknown[]): string => lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n') + '\n';

describe('parseTranscript', () => {
  it('reads every event the writer writes, as written, without warnings', () => {
    const { events, warnings } = parseTranscript(ndjson(EVERY_EVENT));
    expect(warnings).toEqual([]);
    expect(events).toEqual(EVERY_EVENT);
  });

  it('skips blank lines silently, and a final newline is not a line', () => {
    const text = `\n${JSON.stringify(EVERY_EVENT[0])}\n   \n${JSON.stringify(EVERY_EVENT[1])}\n\n`;
    expect(parseTranscript(text)).toEqual({ events: EVERY_EVENT.slice(0, 2), warnings: [] });
  });

  it('accepts CRLF line ends and a byte order mark', () => {
    const text = '\ufeff' + EVERY_EVENT.slice(0, 3).map((event) => JSON.stringify(event)).join('\r\n') + '\r\n';
    expect(parseTranscript(text)).toEqual({ events: EVERY_EVENT.slice(0, 3), warnings: [] });
  });

  it('keeps fields it does not know, so JSON output passes on what a newer writer added', () => {
    const { events } = parseTranscript(ndjson([{ t: 1, event: 'open', id: 'a', instance: 'eu-1' }]));
    expect(events).toEqual([{ t: 1, event: 'open', id: 'a', instance: 'eu-1' }]);
  });

  it.each([
    ['{"t":1,"event":"open","id":', /^not JSON/],
    ['[1,2]', 'not a JSON object'],
    ['42', 'not a JSON object'],
    ['null', 'not a JSON object'],
    ['{"event":"open","id":"a"}', '"t" must be a number of milliseconds'],
    ['{"t":-1,"event":"open","id":"a"}', '"t" must be a number of milliseconds'],
    ['{"t":"1","event":"open","id":"a"}', '"t" must be a number of milliseconds'],
    ['{"t":1,"id":"a"}', 'no "event" name'],
    ['{"t":1,"event":"teleport","id":"a"}', 'unknown event "teleport"'],
    ['{"t":1,"event":"toString","id":"a"}', 'unknown event "toString"'],
    ['{"t":1,"event":"open"}', '"open" without "id"'],
    ['{"t":1,"event":"open","id":7}', '"open" has a "id" that is not a string'],
    ['{"t":1,"event":"open","id":"a","reconnected":"yes"}', '"open" has a "reconnected" that is not a boolean'],
    ['{"t":1,"event":"relay","type":"OFFER","src":"a","dst":"b","bytes":1}', '"relay" without "queuedMs"'],
    ['{"t":1,"event":"relay","type":"OFFER","src":"a","dst":"b","bytes":1,"queuedMs":0,"summary":"x"}', '"relay" has a "summary" that is not an object'],
    ['{"t":1,"event":"fault-delay","type":"OFFER","src":"a","dst":"b"}', '"fault-delay" without "ms"'],
    ['{"t":1,"event":"dropped","count":null}', '"dropped" has a "count" that is not a number'],
  ])('skips %s with a warning naming line 2', (line, message) => {
    const { events, warnings } = parseTranscript(ndjson([EVERY_EVENT[0], line, EVERY_EVENT[1]]));
    expect(events).toEqual(EVERY_EVENT.slice(0, 2));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.line).toBe(2);
    if (typeof message === 'string') expect(warnings[0]!.message).toBe(message);
    else expect(warnings[0]!.message).toMatch(message);
  });

  it('numbers lines as an editor does, counting blank ones', () => {
    const { warnings } = parseTranscript(['', 'oops', JSON.stringify(EVERY_EVENT[0]), '', '{}'].join('\n'));
    expect(warnings.map((warning) => warning.line)).toEqual([2, 5]);
  });
});
