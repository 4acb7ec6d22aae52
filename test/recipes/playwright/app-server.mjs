// The app under test in the Playwright recipe: one page that loads the real peerjs browser bundle, on a free loopback port.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';

const bundle = readFileSync(createRequire(import.meta.url).resolve('peerjs/dist/peerjs.min.js'));
const page = '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>app</title><script src="/peerjs.min.js"></script>';

const server = createServer((request, response) => {
  if (request.url === '/peerjs.min.js') response.writeHead(200, { 'Content-Type': 'text/javascript' }).end(bundle);
  else response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page);
});
// Playwright's webServer `wait` pattern reads the URL from this line.
server.listen(0, '127.0.0.1', () => console.log(`app listening on http://127.0.0.1:${server.address().port}/`));
