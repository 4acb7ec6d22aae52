// global-setup.ts: one signaling server for the whole Vitest run; tests read its address with inject()
import { startSignalServer } from 'peer-signal';
import type { TestProject } from 'vitest/node';

export default async function setup(project: TestProject) {
  const server = await startSignalServer(); // a free port on 127.0.0.1
  project.provide('signalWsUrl', server.wsUrl);
  project.provide('signalClient', server.client); // { host, port, path, key, secure } for new Peer(id, ...)
  return () => server.close(); // runs after the last test
}

declare module 'vitest' {
  export interface ProvidedContext {
    signalWsUrl: string;
    signalClient: { host: string; port: number; path: string; key: string; secure: boolean };
  }
}
