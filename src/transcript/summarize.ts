// What a transcript keeps of a relayed payload by default: the SDP's type and media sections, a candidate's type and transport.

/** One media section of an SDP: `audio`, `video` or `application` (data channels), and its direction when it states one. */
export interface MediaSummary {
  readonly kind: string;
  readonly direction?: string;
}

export interface PayloadSummary {
  /** The peerjs connection type (`data` or `media`) and id, when the payload carries them. */
  readonly connection?: string;
  readonly connectionId?: string;
  /** For an OFFER or ANSWER. */
  readonly sdp?: { readonly type?: string; readonly media: readonly MediaSummary[] };
  /** For a CANDIDATE: host, srflx, prflx or relay, and udp or tcp; `end-of-candidates` for the empty one. */
  readonly candidate?: { readonly type: string; readonly transport?: string };
}

const DIRECTIONS = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** The media sections of an SDP text: one per `m=` line, with the first direction attribute inside it. */
export function mediaSections(sdp: string): MediaSummary[] {
  const sections: Array<{ kind: string; direction?: string }> = [];
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) sections.push({ kind: line.slice(2).split(' ')[0] ?? '' });
    else if (line.startsWith('a=') && sections.length > 0) {
      const attribute = line.slice(2).trim();
      const current = sections[sections.length - 1]!;
      if (DIRECTIONS.has(attribute) && current.direction === undefined) current.direction = attribute;
    }
  }
  return sections;
}

/** `candidate:1 1 udp 2122260223 192.168.1.2 54321 typ host ...` → `{ type: 'host', transport: 'udp' }`. */
export function candidateSummary(candidate: string): { type: string; transport?: string } {
  if (candidate.trim() === '') return { type: 'end-of-candidates' };
  const fields = candidate.replace(/^a=/, '').split(/\s+/);
  const typeAt = fields.indexOf('typ');
  const type = typeAt !== -1 ? (fields[typeAt + 1] ?? 'unknown') : 'unknown';
  const transport = fields[2]?.toLowerCase();
  return transport === undefined ? { type } : { type, transport };
}

/**
 * A summary of a peerjs payload (OFFER/ANSWER: `{ sdp: { type, sdp }, type, connectionId }`,
 * CANDIDATE: `{ candidate: { candidate }, type, connectionId }`), without addresses, fingerprints
 * or ICE credentials; undefined for anything else.
 */
export function summarizePayload(payload: unknown): PayloadSummary | undefined {
  const fields = record(payload);
  if (fields === undefined) return undefined;
  const summary: { -readonly [K in keyof PayloadSummary]: PayloadSummary[K] } = {};
  if (typeof fields.type === 'string') summary.connection = fields.type;
  if (typeof fields.connectionId === 'string') summary.connectionId = fields.connectionId;
  const sdp = record(fields.sdp);
  if (sdp !== undefined) {
    summary.sdp = {
      ...(typeof sdp.type === 'string' ? { type: sdp.type } : {}),
      media: typeof sdp.sdp === 'string' ? mediaSections(sdp.sdp) : [],
    };
  }
  const candidate = record(fields.candidate);
  if (candidate !== undefined && typeof candidate.candidate === 'string') summary.candidate = candidateSummary(candidate.candidate);
  return Object.keys(summary).length > 0 ? summary : undefined;
}
