// The package version, injected at build time (tsup and vitest define __PEER_SIGNAL_VERSION__ from package.json).
declare const __PEER_SIGNAL_VERSION__: string;

export const VERSION: string = __PEER_SIGNAL_VERSION__;
