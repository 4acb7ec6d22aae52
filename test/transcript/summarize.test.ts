// Payload summaries keep what a reader of a transcript needs (SDP type, media sections, candidate type) and no addresses.
import { describe, expect, it } from 'vitest';
import { candidateSummary, mediaSections, summarizePayload } from '../../src/transcript/summarize.js';

const OFFER_SDP = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1 2',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 0.0.0.0',
  'a=sendrecv',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'a=recvonly',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'a=sctp-port:5000',
  '',
].join('\r\n');

describe('payload summaries', () => {
  it('an OFFER keeps the SDP type and each media section with its direction', () => {
    const payload = { sdp: { type: 'offer', sdp: OFFER_SDP }, type: 'media', connectionId: 'mc_abc', browser: 'chrome' };
    expect(summarizePayload(payload)).toEqual({
      connection: 'media',
      connectionId: 'mc_abc',
      sdp: {
        type: 'offer',
        media: [
          { kind: 'audio', direction: 'sendrecv' },
          { kind: 'video', direction: 'recvonly' },
          { kind: 'application' },
        ],
      },
    });
    expect(JSON.stringify(summarizePayload(payload))).not.toContain('127.0.0.1');
  });

  it.each([
    ['candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 0.0.0.0 rport 0', { type: 'srflx', transport: 'udp' }],
    ['candidate:1 1 UDP 2122260223 192.168.1.2 54321 typ host', { type: 'host', transport: 'udp' }],
    ['candidate:3 1 tcp 1518280447 10.0.0.2 9 typ host tcptype active', { type: 'host', transport: 'tcp' }],
    ['a=candidate:4 1 udp 25108222 198.51.100.9 3478 typ relay raddr 203.0.113.7 rport 46154', { type: 'relay', transport: 'udp' }],
    ['', { type: 'end-of-candidates' }],
  ])('a CANDIDATE %j keeps only its type and transport', (candidate, expected) => {
    expect(candidateSummary(candidate)).toEqual(expected);
    const summary = summarizePayload({ candidate: { candidate, sdpMid: '0', sdpMLineIndex: 0 }, type: 'data', connectionId: 'dc_1' });
    expect(summary).toEqual({ connection: 'data', connectionId: 'dc_1', candidate: expected });
  });

  it('anything else has no summary, and never throws', () => {
    for (const payload of [undefined, null, 'text', 42, [1, 2], {}, { sdp: 'not an object' }, { candidate: { candidate: 7 } }]) {
      expect(summarizePayload(payload)).toBeUndefined();
    }
    expect(mediaSections('a=sendrecv\nm=')).toEqual([{ kind: '' }]);
  });
});
