// Headless Chromium as every test launches it: the binary, and the flags that keep it off a closed network.

/** The browser binary; PEER_SIGNAL_E2E_CHROMIUM points the tests and their drivers elsewhere. */
export const CHROMIUM = process.env.PEER_SIGNAL_E2E_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Headless, as root in a container, and without the background connections (updates, sync, QUIC probes)
 * that a machine with no outside network refuses, many at a time.
 */
export const CHROMIUM_ARGS = Object.freeze([
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]);
