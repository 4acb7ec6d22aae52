// global-setup.ts: one signaling server for the whole Playwright run, started in process
import { startSignalServer } from 'peer-signal';

export default async function globalSetup() {
  const server = await startSignalServer(); // a free port on 127.0.0.1
  process.env.PEER_SIGNAL_URL = server.url; // the test workers inherit it
  return () => server.close(); // Playwright runs the returned function as the global teardown
}
