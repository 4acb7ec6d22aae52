// socket.io and ExpressPeerServer on one HTTP server: both work at once in either attach order, and close() leaves socket.io running.
import type { Server as HttpServer } from 'node:http';
import express from 'express';
import { Server as SocketIoServer } from 'socket.io';
import { io as connectSocketIo, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { ExpressPeerServer } from '../../src/compat/express-peer-server.js';
import type { PeerServerApp } from '../../src/compat/types.js';
import { within } from '../support/deadline.js';
import { closeAll, type TestClient } from '../support/peer-client.js';
import { listenApp, openPeer, type RunningApp } from './helpers.js';

const WAIT_MS = 10_000;
const cleanups: Array<() => Promise<void>> = [];
const clients: TestClient[] = [];

afterEach(async () => {
  await closeAll(clients.splice(0));
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Order = 'socket.io first' | 'peer server first';

/** The usual app: express, socket.io echoing `ping` with an ack, and the peer server at /peerjs/myapp. */
async function startApp(order: Order): Promise<{ app: RunningApp; peerServer: PeerServerApp; io: SocketIoServer }> {
  const expressApp = express();
  expressApp.get('/hello', (_request, response) => void response.send('hello'));
  const app = await listenApp(expressApp);
  let io: SocketIoServer | undefined;
  const attachIo = (server: HttpServer): SocketIoServer => {
    const created = new SocketIoServer(server);
    created.on('connection', (socket) => socket.on('ping', (text: string, ack: (reply: string) => void) => ack(`pong ${text}`)));
    return created;
  };
  if (order === 'socket.io first') io = attachIo(app.server);
  const peerServer = ExpressPeerServer(app.server, { path: '/myapp' });
  expressApp.use('/peerjs', peerServer);
  if (order === 'peer server first') io = attachIo(app.server);
  cleanups.push(app.close, () => new Promise<void>((resolve) => io!.close(() => resolve())), () => peerServer.close());
  return { app, peerServer, io: io! };
}

/** A socket.io client on `transports`, connected; closed after the test. */
async function connectIo(app: RunningApp, transports: Array<'websocket' | 'polling'>): Promise<Socket> {
  const socket = connectSocketIo(app.url(''), { transports, reconnection: false, forceNew: true });
  cleanups.push(async () => void socket.close());
  await within(
    new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (error) => reject(error));
    }),
    WAIT_MS,
    `socket.io connecting over ${transports.join('+')}`,
  );
  return socket;
}

async function ping(socket: Socket, text: string): Promise<string> {
  return within(socket.timeout(WAIT_MS).emitWithAck('ping', text) as Promise<string>, WAIT_MS + 1000, `socket.io ack for ${text}`);
}

/** Waits until the client's transport is the WebSocket (it starts on polling and upgrades). */
async function upgraded(socket: Socket): Promise<void> {
  const engine = socket.io.engine;
  if (engine.transport.name === 'websocket') return;
  await within(new Promise<void>((resolve) => engine.once('upgrade', () => resolve())), WAIT_MS, 'socket.io upgrading to WebSocket');
}

describe.each<Order>(['socket.io first', 'peer server first'])('socket.io and the peer server on one HTTP server, %s', (order) => {
  it('relays peerjs signaling while socket.io answers over WebSocket and over polling-then-upgrade', async () => {
    const { app } = await startApp(order);
    const direct = await connectIo(app, ['websocket']);
    const upgrading = await connectIo(app, ['polling', 'websocket']);
    const alice = await openPeer(app.port, '/peerjs/myapp/peerjs', 'alice');
    const bob = await openPeer(app.port, '/peerjs/myapp/peerjs', 'bob');
    clients.push(alice, bob);

    // All at once: socket.io round trips interleaved with a signaling exchange.
    const [pong1, , pong2] = await Promise.all([
      ping(direct, 'one'),
      (async () => {
        alice.send({ type: 'OFFER', dst: 'bob', payload: { sdp: 'offer' } });
        expect(await bob.next()).toMatchObject({ type: 'OFFER', src: 'alice', payload: { sdp: 'offer' } });
        bob.send({ type: 'ANSWER', dst: 'alice', payload: { sdp: 'answer' } });
        expect(await alice.next()).toMatchObject({ type: 'ANSWER', src: 'bob' });
      })(),
      ping(upgrading, 'two'),
    ]);
    expect([pong1, pong2]).toEqual(['pong one', 'pong two']);
    await upgraded(upgrading);
    expect(upgrading.io.engine.transport.name).toBe('websocket');
    expect(await ping(upgrading, 'three')).toBe('pong three');
    expect(await (await fetch(app.url('/hello'))).text()).toBe('hello');
  });

  it('leaves socket.io and the app answering after close()', async () => {
    const { app, peerServer } = await startApp(order);
    const before = await connectIo(app, ['websocket']);
    const alice = await openPeer(app.port, '/peerjs/myapp/peerjs', 'alice');
    clients.push(alice);
    await peerServer.close();
    expect(await alice.closed).toBe(1001);
    expect(await ping(before, 'still here')).toBe('pong still here');
    // New socket.io connections, both ways in.
    expect(await ping(await connectIo(app, ['websocket']), 'new')).toBe('pong new');
    const upgrading = await connectIo(app, ['polling', 'websocket']);
    await upgraded(upgrading);
    expect(await ping(upgrading, 'upgraded')).toBe('pong upgraded');
    expect(await (await fetch(app.url('/hello'))).text()).toBe('hello');
  });
});
