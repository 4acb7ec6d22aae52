// The single registry of programmatic error codes, in the style of ws WS_ERR_* and fastify FST_ERR_*.

export type PeerSignalErrorCode =
  /** A configuration value is missing, of the wrong type or out of range. */
  | 'PEER_SIGNAL_ERR_CONFIG'
  /** The server could not bind its port (in use, no permission, bad address). */
  | 'PEER_SIGNAL_ERR_LISTEN'
  /** The TLS key or certificate could not be used. */
  | 'PEER_SIGNAL_ERR_TLS'
  /** Cluster mode could not start (Redis unreachable). */
  | 'PEER_SIGNAL_ERR_CLUSTER';

/** An error with a stable `code`; tests and callers match on the code, never on the wording. */
export class PeerSignalError extends Error {
  readonly code: PeerSignalErrorCode;
  /**
   * For PEER_SIGNAL_ERR_CONFIG: the Config key the value is wrong in, so a caller that took the value
   * from somewhere else (the CLI's flags and env vars) can name that instead. Undefined when no one key is.
   */
  readonly field: string | undefined;

  constructor(code: PeerSignalErrorCode, message: string, options?: { cause?: unknown; field?: string }) {
    super(message, options);
    this.name = 'PeerSignalError';
    this.code = code;
    this.field = options?.field;
  }
}
