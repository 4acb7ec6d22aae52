// One cluster instance in a process of its own for scale.test.ts: the built server, its memory measured (after a full GC) on request over IPC.
// Run with node --expose-gc; argv[2] is the Config as JSON. Messages: 'measure' → {event:'measured', heapUsed, rss}, 'stop' → exits.
import { createSignalServer } from '../../dist/index.js';

const server = createSignalServer(JSON.parse(process.argv[2]));
const { port } = await server.listen();
process.send({ event: 'listening', port });
process.on('message', (message) => {
  if (message === 'measure') {
    // Twice: the first collection can leave work (weak references, finalizers) that only the second frees.
    globalThis.gc();
    globalThis.gc();
    const { heapUsed, rss } = process.memoryUsage();
    process.send({ event: 'measured', heapUsed, rss });
  } else if (message === 'stop') {
    void server.close().then(() => process.exit(0));
  }
});
