// The admin routes, for testing applications' resilience: disconnect a peer, and set, show or clear faults.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FaultSpecError, type Faults, type FaultSpec } from '../signaling/faults.js';

/** What the admin routes act on. */
export interface AdminContext {
  /** Closes `id`'s socket; false when no peer here holds it. */
  disconnect(id: string): boolean;
  readonly faults: Faults;
}

/** Largest request body the admin routes read: a fault spec is a few hundred bytes. */
const MAX_BODY_BYTES = 64 * 1024;

export type AdminAnswer = { status: number; body: unknown; allow?: string };

function readBody(request: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        request.removeAllListeners('data');
        request.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** Both tables always, so a server that never had faults answers as one whose faults were cleared. */
const faultsView = (spec: FaultSpec): unknown => ({ faults: { drop: {}, delayMs: {}, ...spec } });

/**
 * Answers `{prefix}/admin/...` below the prefix (`rest` is the path after `/admin/`). The caller has
 * checked the admin token already. Resolves with the status and JSON body; never throws for bad input.
 */
export async function answerAdmin(context: AdminContext, request: IncomingMessage, rest: string): Promise<AdminAnswer> {
  const method = request.method ?? 'GET';
  if (rest === 'faults') {
    if (method === 'GET' || method === 'HEAD') return { status: 200, body: faultsView(context.faults.get()) };
    if (method === 'DELETE') {
      context.faults.clear();
      return { status: 200, body: faultsView(context.faults.get()) };
    }
    if (method === 'PUT') {
      const text = await readBody(request);
      if (text === undefined) return { status: 413, body: { error: `the fault spec is larger than ${MAX_BODY_BYTES} bytes` } };
      let spec: unknown;
      try {
        spec = JSON.parse(text);
      } catch {
        return { status: 400, body: { error: 'the body must be JSON such as {"drop": {"CANDIDATE": 0.5}, "delayMs": {"OFFER": 200}, "seed": 1}' } };
      }
      try {
        return { status: 200, body: faultsView(context.faults.set(spec)) };
      } catch (error) {
        if (error instanceof FaultSpecError) return { status: 400, body: { error: error.message } };
        throw error;
      }
    }
    return { status: 405, allow: 'GET, HEAD, PUT, DELETE', body: { error: `method ${method} is not allowed on admin/faults; use GET, PUT or DELETE` } };
  }
  const disconnect = /^peers\/([^/]+)\/disconnect$/.exec(rest);
  if (disconnect !== null) {
    if (method !== 'POST') return { status: 405, allow: 'POST', body: { error: `use POST to disconnect a peer, not ${method}` } };
    let id: string;
    try {
      id = decodeURIComponent(disconnect[1]!);
    } catch {
      return { status: 400, body: { error: 'the peer id in the path is not valid percent-encoding' } };
    }
    if (!context.disconnect(id)) return { status: 404, body: { error: `no peer ${JSON.stringify(id)} is connected to this instance` } };
    return { status: 200, body: { disconnected: id } };
  }
  return { status: 404, body: { error: `no admin route ${method} admin/${rest}; there are admin/faults and admin/peers/{id}/disconnect` } };
}
