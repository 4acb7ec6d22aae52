// PeerJS server protocol: message types and the wire error strings (exact text; clients and users match on them).

export const MessageType = {
  OPEN: 'OPEN',
  LEAVE: 'LEAVE',
  CANDIDATE: 'CANDIDATE',
  OFFER: 'OFFER',
  ANSWER: 'ANSWER',
  EXPIRE: 'EXPIRE',
  HEARTBEAT: 'HEARTBEAT',
  ID_TAKEN: 'ID-TAKEN',
  ERROR: 'ERROR',
} as const;

/** The error strings of the reference server; never reword these. */
export const WireError = {
  INVALID_KEY: 'Invalid key provided',
  INVALID_WS_PARAMETERS: 'No id, token, or key supplied to websocket server',
  CONNECTION_LIMIT_EXCEED: 'Server has reached its concurrent user limit',
  ID_TAKEN: 'ID is taken',
} as const;

/** Our own wire errors, for cases the reference server does not check. */
export const ExtraWireError = {
  INVALID_ID:
    'Invalid id provided: use 1-64 letters or digits, optionally separated by single "-", "_" or " "',
  INVALID_TOKEN: 'Invalid token provided: use 1-256 printable characters',
  INVALID_MESSAGE: 'Invalid message: expected a JSON object with a string "type"',
  MISSING_DST: 'Invalid message: this type needs a string "dst"',
  BINARY_FRAME: 'Invalid message: binary frames are not supported, send JSON text',
  RATE_LIMITED: 'Rate limit exceeded: this connection sent too many messages too fast',
  TOKEN_REJECTED: 'Invalid token provided: this server needs a signed token for the id (see peer-signal token)',
  TOKEN_EXPIRED: 'Invalid token provided: the signed token has expired; fetch a new one from your backend',
} as const;

/** Ids the peerjs client itself accepts (util.validateId), capped at 64 characters. */
const ID_PATTERN = /^[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*$/;
const MAX_ID_LENGTH = 64;

export function isValidId(id: string): boolean {
  return id.length <= MAX_ID_LENGTH && ID_PATTERN.test(id);
}

/** Tokens are opaque to us; bound them so a client cannot make us hold megabytes per peer. */
const TOKEN_PATTERN = /^[\x21-\x7e]{1,256}$/;

export function isValidToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

/** Relayed types that wait in a queue when `dst` is absent (LEAVE and EXPIRE are dropped instead). */
export const QUEUED_TYPES: ReadonlySet<string> = new Set([MessageType.OFFER, MessageType.ANSWER, MessageType.CANDIDATE]);

export function errorFrame(msg: string): string {
  return JSON.stringify({ type: MessageType.ERROR, payload: { msg } });
}

export const OPEN_FRAME = JSON.stringify({ type: MessageType.OPEN });
export const ID_TAKEN_FRAME = JSON.stringify({ type: MessageType.ID_TAKEN, payload: { msg: WireError.ID_TAKEN } });
export const HEARTBEAT_FRAME = '{"type":"HEARTBEAT"}';

export function expireFrame(absentId: string, senderId: string): string {
  return JSON.stringify({ type: MessageType.EXPIRE, src: absentId, dst: senderId });
}

/** Close codes we use on the WebSocket. */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  INTERNAL_ERROR: 1011,
  POLICY_VIOLATION: 1008,
  /** Same id and token connected again elsewhere: this socket was replaced. */
  REPLACED: 4000,
  /** Silent for longer than the alive timeout. */
  TIMED_OUT: 4001,
  /** Disconnected by an operator (the admin route, or `peer-signal kick`). */
  DISCONNECTED: 4002,
} as const;
