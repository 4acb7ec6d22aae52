// Public API: createSignalServer, resolveConfig and their types, nothing else.
export { createSignalServer } from './server.js';
export type { SignalServer, SignalServerOptions, ListeningInfo, PeerClientOptions } from './server.js';
export { startSignalServer } from './start.js';
export { attachSignalServer } from './attach.js';
export type { AttachedSignalServer, AttachOptions } from './attach.js';
export type { StartedSignalServer } from './start.js';
export type { SignalingObserver, RefusalReason } from './signaling/observer.js';
export { resolveConfig, DEFAULTS } from './config.js';
export type { Config, LogLevel } from './config.js';
export { createLogger } from './logger.js';
export type { Logger, LogFields, LoggerOptions } from './logger.js';
export { PeerSignalError } from './errors.js';
export type { PeerSignalErrorCode } from './errors.js';
export { createPeerToken, verifyPeerToken } from './tokens.js';
export type { PeerTokenOptions, TokenCheck } from './tokens.js';
