// The built package in projects of its own: without express it imports and runs (express is loaded only by ExpressPeerServer),
// and with express 4 or 5 it mounts exactly where peer 1.0.2 does.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverEnv } from '../support/server-env.mjs';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MOUNT_TABLE = fileURLToPath(new URL('./fixtures/mount-table.mjs', import.meta.url));
const RUN_MS = 30_000;
let work = '';

/** A project with the built package installed as npm would (package.json and dist/), and the given packages linked in. */
function makeProject(name: string, links: Record<string, string>): string {
  const project = join(work, name);
  const installed = join(project, 'node_modules', 'peer-signal');
  mkdirSync(join(installed, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(installed, 'package.json'));
  for (const file of readdirSync(join(ROOT, 'dist'))) {
    if (file.endsWith('.js') || file.endsWith('.d.ts')) cpSync(join(ROOT, 'dist', file), join(installed, 'dist', file));
  }
  for (const [as, from] of Object.entries(links)) symlinkSync(join(ROOT, 'node_modules', from), join(project, 'node_modules', as), 'dir');
  return project;
}

async function node(cwd: string, args: string[], env: Record<string, string | undefined> = {}): Promise<string> {
  const { stdout } = await run(process.execPath, args, { cwd, timeout: RUN_MS, env: serverEnv(env) });
  return stdout;
}

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist/index.js'))) throw new Error('dist/index.js is missing; run npm run build first (npm test does it)');
  work = mkdtempSync(join(tmpdir(), 'peer-signal-compat-'));
});

afterAll(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

describe('in a project without express', () => {
  let project = '';
  beforeAll(() => {
    project = makeProject('no-express', {});
  });

  it('imports peer-signal and runs createSignalServer (the main entry never loads express)', async () => {
    const script = `
      import { createSignalServer } from 'peer-signal';
      const server = createSignalServer({ host: '127.0.0.1', port: 0 });
      const { url } = await server.listen();
      const health = await fetch(url + '/health');
      await server.close();
      console.log(JSON.stringify({ status: health.status }));`;
    expect(JSON.parse(await node(project, ['--input-type=module', '-e', script]))).toEqual({ status: 200 });
  });

  it("loads with require('peer-signal') too, as peer's README examples do", async () => {
    const script = `const { createSignalServer, ExpressPeerServer } = require('peer-signal');
      console.log(JSON.stringify([typeof createSignalServer, typeof ExpressPeerServer]));`;
    expect(JSON.parse(await node(project, ['-e', script]))).toEqual(['function', 'function']);
  });

  it('throws a PEER_SIGNAL_ERR_CONFIG saying to install express from ExpressPeerServer and PeerServer', async () => {
    const script = `
      import { ExpressPeerServer, PeerServer } from 'peer-signal';
      const errors = [];
      for (const make of [() => ExpressPeerServer({}), () => PeerServer({ port: 0 })]) {
        try { make(); errors.push('no error'); } catch (error) { errors.push({ code: error.code, message: error.message }); }
      }
      console.log(JSON.stringify(errors));`;
    const errors = JSON.parse(await node(project, ['--input-type=module', '-e', script])) as Array<{ code: string; message: string }>;
    expect(errors).toHaveLength(2);
    for (const error of errors) {
      expect(error.code).toBe('PEER_SIGNAL_ERR_CONFIG');
      expect(error.message).toContain('npm install express');
    }
  });
});

describe('the package API from the built dist/index.js', () => {
  it('createSignalServer and createPeerToken work together, install no signal handlers and write nothing', async () => {
    const project = makeProject('api', { ws: 'ws' });
    const script = `
      import { createPeerToken, createSignalServer } from 'peer-signal';
      import WebSocket from 'ws';
      const handlers = () => ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR2'].map((signal) => process.listenerCount(signal));
      const before = handlers();
      const secret = 'a-long-enough-test-secret';
      const server = createSignalServer({ host: '127.0.0.1', port: 0, tokenSecret: secret });
      const { port } = await server.listen();
      const first = (id, token, key = 'peerjs') =>
        new Promise((resolve, reject) => {
          const ws = new WebSocket('ws://127.0.0.1:' + port + '/peerjs/peerjs?key=' + key + '&id=' + id + '&token=' + token);
          ws.once('message', (data) => { resolve(JSON.parse(String(data)).type); ws.terminate(); });
          ws.once('error', reject);
        });
      const opened = await first('alice', createPeerToken('alice', secret, { ttlSeconds: 60 }));
      const forged = await first('bob', createPeerToken('bob', 'another-long-test-secret', { ttlSeconds: 60 }));
      const wrongKey = await first('carol', createPeerToken('carol', secret), 'nope');
      const during = handlers();
      await server.close();
      console.log(JSON.stringify({ before, during, after: handlers(), opened, forged, wrongKey }));`;
    const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: project, timeout: RUN_MS, env: serverEnv() });
    // Nothing but the script's own line: the server logged nothing (no logger given) and printed no URL.
    expect(stderr).toBe('');
    const lines = stdout.split('\n');
    expect(lines, stdout).toHaveLength(2);
    expect(JSON.parse(lines[0]!)).toEqual({
      before: [0, 0, 0, 0],
      during: [0, 0, 0, 0],
      after: [0, 0, 0, 0],
      opened: 'OPEN',
      forged: 'ERROR',
      wrongKey: 'ERROR',
    });
  });
});

interface MountTable {
  implementation: string;
  express: string;
  results: Record<string, { socket: string; id: number; after: string }>;
}

describe('mount paths, against peer 1.0.2 as the oracle', () => {
  let oracle: MountTable;
  beforeAll(async () => {
    oracle = JSON.parse(await node(ROOT, [MOUNT_TABLE], { PEER_IMPL: 'peer' })) as MountTable;
    expect(Object.values(oracle.results).every(({ socket, id, after }) => socket === 'OPEN' && id === 200 && after === 'after')).toBe(true);
  }, RUN_MS);

  it.each([
    ['express 4', 'express', /^4\./],
    ['express 5', 'express5', /^5\./],
  ])('with %s, the WebSocket, the id route and the app routes after the mount are where peer has them', async (_name, express, version) => {
    const project = makeProject(`with-${express}`, { express, ws: 'ws' });
    cpSync(MOUNT_TABLE, join(project, 'mount-table.mjs'));
    const table = JSON.parse(await node(project, ['mount-table.mjs'])) as MountTable;
    expect(table.implementation).toBe('peer-signal');
    expect(table.express).toMatch(version);
    expect(table.results).toEqual(oracle.results);
  }, RUN_MS);
});
