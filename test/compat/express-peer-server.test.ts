// ExpressPeerServer and PeerServer in an Express 4 app on a real port: mount paths, peer's events, the HTTP API, close().
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { ExpressPeerServer } from '../../src/compat/express-peer-server.js';
import { PeerServer } from '../../src/compat/peer-server.js';
import type { IClient, IMessage, PeerServerApp } from '../../src/compat/types.js';
import { PeerSignalError } from '../../src/errors.js';
import { findClosedPort } from '../support/redis-server.js';
import { closeAll, type TestClient } from '../support/peer-client.js';
import { listenApp, openPeer, upgradeOutcome, type RunningApp } from './helpers.js';

const cleanups: Array<() => Promise<void>> = [];
const clients: TestClient[] = [];

afterEach(async () => {
  await closeAll(clients.splice(0));
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An Express app with a route before and after the mount, a peer server built by `mount`, on a free port. */
async function startApp(mount: (app: express.Express, server: Server) => PeerServerApp): Promise<{ app: RunningApp; peerServer: PeerServerApp }> {
  const expressApp = express();
  expressApp.get('/', (_request, response) => void response.send('Hello world!'));
  const running = await listenApp(expressApp);
  const peerServer = mount(expressApp, running.server);
  expressApp.get('/after', (_request, response) => void response.send('after'));
  cleanups.push(running.close, () => peerServer.close());
  return { app: running, peerServer };
}

async function open(app: RunningApp, socketPath: string, id: string): Promise<TestClient> {
  const client = await openPeer(app.port, socketPath, id);
  clients.push(client);
  return client;
}

/** Resolves with the arguments of the next `event` on the peer server. */
function next<T extends unknown[]>(peerServer: PeerServerApp, event: 'connection' | 'disconnect' | 'message'): Promise<T> {
  return new Promise((resolve) => (peerServer as unknown as NodeJS.EventEmitter).once(event, (...args: unknown[]) => resolve(args as T)));
}

describe('ExpressPeerServer mount semantics (as peer 1.0.2)', () => {
  it.each([
    ["app.use('/peerjs', X({ path: '/myapp' })) — the README's", '/peerjs', { path: '/myapp' }, '/peerjs/myapp'],
    ['app.use(X()) — path defaults to /', undefined, {}, ''],
    ["app.use('/', X({ path: '/' })) — the App Engine example", '/', { path: '/' }, ''],
    ["app.use('/rtc', X())", '/rtc', {}, '/rtc'],
    ["app.use(X({ path: '/myapp' }))", undefined, { path: '/myapp' }, '/myapp'],
  ])('%s', async (_name, mountPath, options, base) => {
    const { app } = await startApp((expressApp, server) => {
      const peerServer = ExpressPeerServer(server, options);
      if (mountPath === undefined) expressApp.use(peerServer);
      else expressApp.use(mountPath, peerServer);
      return peerServer;
    });
    await open(app, `${base}/peerjs`, 'alice');
    const id = await fetch(app.url(`${base}/peerjs/id`));
    expect(id.status).toBe(200);
    expect(await id.text()).toMatch(/^[0-9a-f-]{36}$/);
    const info = await fetch(app.url(base === '' ? '/' : base));
    if (base !== '') expect(await info.json()).toMatchObject({ name: 'peer-signal' });
    // Routes of the app registered after the mount still answer: what the API does not serve goes on.
    const after = await fetch(app.url('/after'));
    expect(await after.text()).toBe('after');
    if (base !== '') expect(await (await fetch(app.url('/'))).text()).toBe('Hello world!');
  });

  it('takes the whole chain of mount paths in nested apps', async () => {
    const { app } = await startApp((expressApp, server) => {
      const api = express();
      expressApp.use('/api', api);
      const peerServer = ExpressPeerServer(server, { path: '/p' });
      api.use('/rtc', peerServer);
      return peerServer;
    });
    await open(app, '/api/rtc/p/peerjs', 'nested');
    expect((await fetch(app.url('/api/rtc/p/peerjs/id'))).status).toBe(200);
  });

  it('answers an upgrade to another path 404 at once when it is the only upgrade listener', async () => {
    const { app } = await startApp((expressApp, server) => {
      const peerServer = ExpressPeerServer(server, { path: '/myapp' });
      expressApp.use('/peerjs', peerServer);
      return peerServer;
    });
    expect(await upgradeOutcome(`ws://127.0.0.1:${app.port}/elsewhere/peerjs?key=peerjs&id=x&token=t`)).toBe('404');
  });

  it('refuses a second mount of the same server', async () => {
    const expressApp = express();
    const running = await listenApp(expressApp);
    const peerServer = ExpressPeerServer(running.server);
    cleanups.push(running.close, () => peerServer.close());
    expressApp.use('/a', peerServer);
    let thrown: unknown;
    try {
      expressApp.use('/b', peerServer);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PeerSignalError);
    expect(thrown).toMatchObject({ code: 'PEER_SIGNAL_ERR_CONFIG' });
  });

  it('hands out ids from generateClientId, and answers CORS for the corsOptions origins only', async () => {
    let n = 0;
    const { app } = await startApp((expressApp, server) => {
      const peerServer = ExpressPeerServer(server, {
        path: '/myapp',
        generateClientId: () => `custom${++n}`,
        corsOptions: { origin: ['https://app.example'] },
      });
      expressApp.use('/peerjs', peerServer);
      return peerServer;
    });
    const allowed = await fetch(app.url('/peerjs/myapp/peerjs/id'), { headers: { Origin: 'https://app.example' } });
    expect(await allowed.text()).toBe('custom1');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
    const other = await fetch(app.url('/peerjs/myapp/peerjs/id'), { headers: { Origin: 'https://evil.example' } });
    expect(await other.text()).toBe('custom2');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('never hands out an id a connected peer holds: GET {path}/{key}/id asks generateClientId again', async () => {
    // alice and bob connect first; then the generator offers their ids before a free one.
    const offers = ['alice', 'bob', 'alice', 'carol', 'alice'];
    const asked: string[] = [];
    const { app } = await startApp((expressApp, server) => {
      const peerServer = ExpressPeerServer(server, {
        path: '/myapp',
        generateClientId: () => {
          const id = offers.shift() ?? 'none-left';
          asked.push(id);
          return id;
        },
      });
      expressApp.use('/peerjs', peerServer);
      return peerServer;
    });
    await open(app, '/peerjs/myapp/peerjs', 'alice');
    await open(app, '/peerjs/myapp/peerjs', 'bob');
    expect(await (await fetch(app.url('/peerjs/myapp/peerjs/id'))).text()).toBe('carol');
    expect(asked).toEqual(['alice', 'bob', 'alice', 'carol']);
  });

  it('sets Express trust proxy on the sub-app as peer does', () => {
    const peerServer = ExpressPeerServer({} as Server, { proxied: true }) as unknown as express.Express;
    expect(peerServer.get('trust proxy')).toBe(true);
  });
});

describe("ExpressPeerServer's events (as peer 1.0.2)", () => {
  it('emits connection, message and disconnect with client objects that have getId(), getToken(), getSocket() and send()', async () => {
    const { app, peerServer } = await startApp((expressApp, server) => {
      const peerServer = ExpressPeerServer(server, { path: '/myapp' });
      expressApp.use('/peerjs', peerServer);
      return peerServer;
    });
    const socketPath = '/peerjs/myapp/peerjs';
    const connected = next<[IClient]>(peerServer, 'connection');
    const alice = await open(app, socketPath, 'alice');
    const [client] = await connected;
    expect(client.getId()).toBe('alice');
    expect(client.getToken()).toBe('token-alice');
    expect(client.getSocket()?.readyState).toBe(1);
    expect(client.getLastPing()).toBeLessThanOrEqual(Date.now());
    expect(peerServer.peerCount).toBe(1);

    client.send({ type: 'HELLO', payload: { from: 'the server' } });
    expect(await alice.next()).toEqual({ type: 'HELLO', payload: { from: 'the server' } });

    const bob = await open(app, socketPath, 'bob');
    const relayed = next<[IClient, IMessage]>(peerServer, 'message');
    alice.send({ type: 'HEARTBEAT' });
    alice.send({ type: 'OFFER', dst: 'bob', payload: { sdp: 'x' } });
    const [from, message] = await relayed;
    // Heartbeats are not reported: the first message event is the OFFER.
    expect(from).toBe(client);
    expect(message).toEqual({ type: 'OFFER', src: 'alice', dst: 'bob', payload: { sdp: 'x' } });
    expect(await bob.next()).toMatchObject({ type: 'OFFER', src: 'alice' });

    const gone = next<[IClient]>(peerServer, 'disconnect');
    alice.ws.close();
    const [left] = await gone;
    expect(left).toBe(client);
    expect(left.getSocket()).toBeNull();
    expect(() => left.setLastPing(0)).toThrow(/not supported/);
  });

  it("emits connection again for a reconnect with the same token, with the same client, and no disconnect", async () => {
    const { app, peerServer } = await startApp((expressApp, server) => {
      const peerServer = ExpressPeerServer(server);
      expressApp.use(peerServer);
      return peerServer;
    });
    const events: string[] = [];
    peerServer.on('connection', (client) => events.push(`connection ${client.getId()}`));
    peerServer.on('disconnect', (client) => events.push(`disconnect ${client.getId()}`));
    const first = next<[IClient]>(peerServer, 'connection');
    await open(app, '/peerjs', 'carol');
    const [client] = await first;
    const second = next<[IClient]>(peerServer, 'connection');
    await open(app, '/peerjs', 'carol');
    expect((await second)[0]).toBe(client);
    expect(events).toEqual(['connection carol', 'connection carol']);
  });

  it("emits error when the cluster backend cannot start, and only to a listener", async () => {
    const port = await findClosedPort();
    const { peerServer } = await startApp((expressApp, server) => {
      const peerServer = ExpressPeerServer(server, { redisUrl: `redis://127.0.0.1:${port}` });
      const failed = once(peerServer as unknown as NodeJS.EventEmitter, 'error');
      expressApp.use(peerServer);
      cleanups.push(async () => {
        const [error] = (await failed) as [PeerSignalError];
        expect(error.code).toBe('PEER_SIGNAL_ERR_CLUSTER');
      });
      return peerServer;
    });
    expect(peerServer.peerCount).toBe(0);
  });
});

describe('close()', () => {
  it('closes the peers (1001) and stops taking upgrades, while the HTTP server and the app keep answering', async () => {
    const { app, peerServer } = await startApp((expressApp, server) => {
      const peerServer = ExpressPeerServer(server, { path: '/myapp' });
      expressApp.use('/peerjs', peerServer);
      return peerServer;
    });
    const alice = await open(app, '/peerjs/myapp/peerjs', 'alice');
    await peerServer.close();
    expect(await alice.closed).toBe(1001);
    expect(app.server.listening).toBe(true);
    expect(await (await fetch(app.url('/'))).text()).toBe('Hello world!');
    expect(await (await fetch(app.url('/after'))).text()).toBe('after');
    // The API's routes go on to the app, which has none there.
    expect((await fetch(app.url('/peerjs/myapp/peerjs/id'))).status).toBe(404);
    expect(await upgradeOutcome(`ws://127.0.0.1:${app.port}/peerjs/myapp/peerjs?key=peerjs&id=b&token=t`)).not.toBe('open');
    await peerServer.close();
  });
});

describe('PeerServer', () => {
  it("listens on its own port, calls back with the HTTP server, serves peer's paths, and close() stops it all", async () => {
    let peerServer: PeerServerApp | undefined;
    const server = await new Promise<Server>((resolve) => {
      peerServer = PeerServer({ port: 0, host: '127.0.0.1', path: '/myapp' }, resolve);
    });
    cleanups.push(() => peerServer!.close());
    const { port } = server.address() as AddressInfo;
    const alice = await openPeer(port, '/myapp/peerjs', 'alice');
    clients.push(alice);
    expect((await fetch(`http://127.0.0.1:${port}/myapp/peerjs/id`)).status).toBe(200);
    expect(await (await fetch(`http://127.0.0.1:${port}/myapp`)).json()).toMatchObject({ name: 'peer-signal' });
    await peerServer!.close();
    expect(await alice.closed).toBe(1001);
    expect(server.listening).toBe(false);
  });

  it('emits error PEER_SIGNAL_ERR_LISTEN when the port is taken and someone listens for it', async () => {
    const taken = await listenApp();
    cleanups.push(taken.close);
    const peerServer = PeerServer({ port: taken.port, host: '127.0.0.1' });
    cleanups.push(() => peerServer.close());
    const [error] = (await once(peerServer as unknown as NodeJS.EventEmitter, 'error')) as [PeerSignalError];
    expect(error.code).toBe('PEER_SIGNAL_ERR_LISTEN');
  });
});
