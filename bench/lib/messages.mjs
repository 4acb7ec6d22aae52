// PeerJS-shaped signaling frames (OFFER/ANSWER with a real-looking SDP, CANDIDATE) as string templates with a timestamp slot.

/** Marker the receiver searches for; the value after it is the send time in microseconds (same process clock). */
export const TS_MARK = '"ts":';

const CODECS_AUDIO = [
  [111, 'opus/48000/2', 'minptime=10;useinbandfec=1'],
  [63, 'red/48000/2', '111/111'],
  [9, 'G722/8000', ''],
  [0, 'PCMU/8000', ''],
  [8, 'PCMA/8000', ''],
  [13, 'CN/8000', ''],
  [110, 'telephone-event/48000', ''],
  [126, 'telephone-event/8000', ''],
];
const CODECS_VIDEO = [
  [96, 'VP8/90000'],
  [97, 'rtx/90000', 'apt=96'],
  [98, 'VP9/90000', 'profile-id=0'],
  [99, 'rtx/90000', 'apt=98'],
  [100, 'VP9/90000', 'profile-id=2'],
  [101, 'rtx/90000', 'apt=100'],
  [102, 'H264/90000', 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f'],
  [103, 'rtx/90000', 'apt=102'],
  [104, 'H264/90000', 'level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f'],
  [105, 'rtx/90000', 'apt=104'],
  [106, 'AV1/90000', ''],
  [107, 'rtx/90000', 'apt=106'],
];

function hex(n, seed) {
  let out = '';
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out += (x >>> 16).toString(16).padStart(4, '0').slice(-2).toUpperCase();
    if (i < n - 1) out += ':';
  }
  return out;
}

/**
 * A Chrome-like SDP (audio + video + data channel) of about `targetBytes` characters,
 * so the relayed frames carry the 2–4 KB that real OFFER/ANSWER frames carry.
 */
export function makeSdp(kind, targetBytes, seed = 1) {
  const ufrag = `u${seed.toString(36)}Xq`;
  const lines = [
    'v=0',
    `o=- ${4611731400430051336n + BigInt(seed)} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    'a=group:BUNDLE 0 1 2',
    'a=extmap-allow-mixed',
    'a=msid-semantic: WMS stream',
  ];
  const common = (mid) => [
    'c=IN IP4 0.0.0.0',
    `a=ice-ufrag:${ufrag}`,
    'a=ice-pwd:asd88fgpdd777uzjYhagZg1Ryz0Jvmzu',
    'a=ice-options:trickle',
    `a=fingerprint:sha-256 ${hex(32, seed)}`,
    `a=setup:${kind === 'offer' ? 'actpass' : 'active'}`,
    `a=mid:${mid}`,
  ];
  lines.push(`m=audio 9 UDP/TLS/RTP/SAVPF ${CODECS_AUDIO.map((c) => c[0]).join(' ')}`, ...common(0));
  lines.push('a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level', 'a=sendrecv', 'a=msid:stream audio0', 'a=rtcp-mux');
  for (const [pt, name, fmtp] of CODECS_AUDIO) {
    lines.push(`a=rtpmap:${pt} ${name}`);
    if (fmtp) lines.push(`a=fmtp:${pt} ${fmtp}`);
  }
  lines.push('a=ssrc:1001 cname:benchcname', 'a=ssrc:1001 msid:stream audio0');
  lines.push(`m=video 9 UDP/TLS/RTP/SAVPF ${CODECS_VIDEO.map((c) => c[0]).join(' ')}`, ...common(1));
  lines.push('a=extmap:2 urn:ietf:params:rtp-hdrext:toffset', 'a=sendrecv', 'a=msid:stream video0', 'a=rtcp-mux', 'a=rtcp-rsize');
  for (const [pt, name, fmtp] of CODECS_VIDEO) {
    lines.push(`a=rtpmap:${pt} ${name}`);
    if (!name.startsWith('rtx')) lines.push(`a=rtcp-fb:${pt} goog-remb`, `a=rtcp-fb:${pt} transport-cc`, `a=rtcp-fb:${pt} nack`);
    if (fmtp) lines.push(`a=fmtp:${pt} ${fmtp}`);
  }
  lines.push('m=application 9 UDP/DTLS/SCTP webrtc-datachannel', ...common(2), 'a=sctp-port:5000', 'a=max-message-size:262144');
  let sdp = lines.join('\r\n') + '\r\n';
  // Pad or trim with extra ssrc lines to the target size, as more tracks would.
  let n = 0;
  while (sdp.length < targetBytes) sdp += `a=ssrc:${2000 + n++} cname:benchcname${seed}\r\n`;
  return sdp;
}

function candidateLine(seed) {
  const port = 40000 + (seed % 20000);
  return `candidate:${842163049 + seed} 1 udp 2122260223 192.168.1.${seed % 250} ${port} typ host generation 0 ufrag u${seed.toString(36)}Xq`;
}

/** A frame split at the timestamp: `prefix + microseconds + suffix`. */
function template(type, payloadHead, dst) {
  return { type, prefix: `{"type":"${type}","payload":{${payloadHead},${TS_MARK}`, suffix: `},"dst":"${dst}"}` };
}

/**
 * The cycle of frames one side of a pair sends, shaped like what the peerjs client sends:
 * the caller sends OFFER then 3 CANDIDATEs, the callee ANSWER then 3 CANDIDATEs.
 */
export function frameCycle(role, dst, seed) {
  const connectionId = `dc_${seed.toString(36)}x9k`;
  const sdpKind = role === 'caller' ? 'offer' : 'answer';
  const sdp = JSON.stringify({ type: sdpKind, sdp: makeSdp(sdpKind, sdpKind === 'offer' ? 3200 : 2600, seed) });
  const sdpFrame =
    role === 'caller'
      ? template(
          'OFFER',
          `"sdp":${sdp},"type":"data","connectionId":"${connectionId}","label":"${connectionId}","reliable":true,"serialization":"binary","metadata":null,"browser":"chrome"`,
          dst,
        )
      : template('ANSWER', `"sdp":${sdp},"type":"data","connectionId":"${connectionId}","browser":"chrome"`, dst);
  const cycle = [sdpFrame];
  for (let i = 0; i < 3; i++) {
    const candidate = JSON.stringify({ candidate: candidateLine(seed * 7 + i), sdpMLineIndex: 0, sdpMid: '0' });
    cycle.push(template('CANDIDATE', `"candidate":${candidate},"type":"data","connectionId":"${connectionId}"`, dst));
  }
  return cycle;
}

/** Sizes of a cycle's frames (with a 16-digit timestamp), for the report. */
export function frameSizes() {
  const caller = frameCycle('caller', 'bench0b', 1).map((t) => Buffer.byteLength(t.prefix + '1234567890123456' + t.suffix));
  const callee = frameCycle('callee', 'bench0a', 1).map((t) => Buffer.byteLength(t.prefix + '1234567890123456' + t.suffix));
  const all = [...caller, ...callee];
  return {
    offer: caller[0],
    answer: callee[0],
    candidate: caller[1],
    mean: Math.round(all.reduce((a, b) => a + b, 0) / all.length),
  };
}

export const HEARTBEAT = '{"type":"HEARTBEAT"}';
