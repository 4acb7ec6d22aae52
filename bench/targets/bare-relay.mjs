// The bare ws relay, "the limit of Node + ws": just enough PeerJS for the bench, on ws's public API only.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { WebSocket, WebSocketServer } from 'ws';

const { values } = parseArgs({ options: { port: { type: 'string', default: '9000' }, host: { type: 'string', default: '127.0.0.1' } } });
const WS_PATH = '/peerjs/peerjs';
const peers = new Map();

const server = http.createServer((request, response) => {
  const { pathname } = new URL(request.url, 'http://localhost');
  if (pathname === `${WS_PATH}/id`) response.writeHead(200, { 'content-type': 'text/plain' }).end(randomUUID());
  else if (pathname === '/health') response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
  else response.writeHead(404).end();
});
const wss = new WebSocketServer({ server, path: WS_PATH, perMessageDeflate: false });

wss.on('connection', (ws, request) => {
  const id = new URL(request.url, 'http://localhost').searchParams.get('id');
  // Without an id, or with one in use, the map would point at the wrong socket: refuse rather than overwrite.
  if (!id || peers.has(id)) return ws.close(1008, id ? 'ID is taken' : 'no id');
  peers.set(id, ws);
  ws.send('{"type":"OPEN"}');
  ws.on('message', (data) => {
    let message;
    try {
      message = JSON.parse(data.toString());
    } catch {
      return;
    }
    if (message?.type === 'HEARTBEAT') return;
    const target = peers.get(message?.dst);
    if (target?.readyState !== WebSocket.OPEN) return;
    // Re-stringified with src set, like the reference server: the sender's own "src" cannot survive.
    message.src = id;
    target.send(JSON.stringify(message));
  });
  ws.on('close', () => peers.get(id) === ws && peers.delete(id));
  // An invalid frame is an 'error' event, and an unhandled one would crash the relay; ws closes the socket itself.
  ws.on('error', () => {});
});

server.listen(Number(values.port), values.host, () => {
  const { port } = server.address();
  process.stdout.write(JSON.stringify({ event: 'listening', url: `http://${values.host}:${port}`, port }) + '\n');
});
