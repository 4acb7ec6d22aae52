// The signaling transcript: an observer that writes one NDJSON line per event, without ever blocking the relay or growing without bound.
import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import type { RefusalReason, SignalingObserver } from '../signaling/observer.js';
import { summarizePayload } from './summarize.js';

export interface TranscriptOptions {
  /** The file to write (created or truncated). */
  readonly file: string;
  /** Keep relayed payloads whole instead of summarising them. */
  readonly payloads: boolean;
  /** Most bytes waiting to be written; past it, events are counted as dropped. Default 8 MiB. */
  readonly maxPendingBytes?: number;
}

export interface Transcript {
  readonly observer: SignalingObserver;
  /** Events not written because the file fell behind. */
  readonly dropped: number;
  /** Writes what is pending and closes the file; idempotent. Rejects with the file's error, if writing failed. */
  close(): Promise<void>;
}

/** How often pending lines are handed to the file: often enough to read along, rarely enough to cost nothing. */
const FLUSH_EVERY_MS = 50;

/** The frame's `type` and payload, read only when a transcript is being written. */
function parseFrame(frame: string): { type: string; payload: unknown } {
  try {
    const message = JSON.parse(frame) as Record<string, unknown>;
    return { type: typeof message.type === 'string' ? message.type : 'unknown', payload: message.payload };
  } catch {
    return { type: 'unknown', payload: undefined };
  }
}

/**
 * Opens `file` and returns the observer that fills it. Each line is `{"t":<ms since start>,"event":...}`
 * with a monotonic `t`. Lines are collected and written every 50 ms; while more than
 * maxPendingBytes wait (a slow disk), new events are counted instead, and one `dropped` event with
 * the count is written once there is room again.
 */
export function createTranscript(options: TranscriptOptions): Transcript {
  const maxPending = options.maxPendingBytes ?? 8 * 1024 * 1024;
  const started = performance.now();
  // Opened here, synchronously, so a path that cannot be written fails before the server starts.
  const stream: WriteStream = createWriteStream('', { fd: openSync(options.file, 'w') });
  let failure: Error | undefined;
  stream.on('error', (error) => (failure ??= error));
  let pending = '';
  let dropped = 0;
  let droppedSinceNotice = 0;
  let timer: NodeJS.Timeout | undefined;
  let closing: Promise<void> | undefined;

  const flush = (): void => {
    timer = undefined;
    if (pending === '' || failure !== undefined) return;
    stream.write(pending);
    pending = '';
  };

  const write = (event: string, fields: Record<string, unknown>): void => {
    if (closing !== undefined || failure !== undefined) return;
    const t = Math.round((performance.now() - started) * 10) / 10;
    if (pending.length + stream.writableLength > maxPending) {
      dropped++;
      droppedSinceNotice++;
      return;
    }
    if (droppedSinceNotice > 0) {
      pending += JSON.stringify({ t, event: 'dropped', count: droppedSinceNotice }) + '\n';
      droppedSinceNotice = 0;
    }
    pending += JSON.stringify({ t, event, ...fields }) + '\n';
    if (timer === undefined) {
      timer = setTimeout(flush, FLUSH_EVERY_MS);
      timer.unref();
    }
  };

  const payloadOf = (payload: unknown): Record<string, unknown> => {
    if (payload === undefined) return {};
    if (options.payloads) return { payload };
    const summary = summarizePayload(payload);
    return summary === undefined ? {} : { summary };
  };

  const observer: SignalingObserver = {
    peerOpened: (id, reconnected) => write('open', reconnected ? { id, reconnected } : { id }),
    peerClosed: (id, code) => write('close', { id, code }),
    relayed: () => {},
    delivered: (src, dst, frame, queuedMs) => {
      const { type, payload } = parseFrame(frame);
      write('relay', { type, src, dst, bytes: frame.length, queuedMs: Math.round(queuedMs), ...payloadOf(payload) });
    },
    queued: (src, dst) => write('queued', { src, dst }),
    expireSent: (src, dst) => write('expire', { src: dst, dst: src }),
    errorSent: (message, id) => write('error', id === undefined ? { msg: message } : { id, msg: message }),
    idTaken: (id) => write('id-taken', { id }),
    refused: (reason: RefusalReason, id) => write('refused', id === undefined ? { reason } : { reason, id }),
    left: (id) => write('leave', { id }),
    faulted: (type, src, dst, delayMs) =>
      delayMs === undefined ? write('fault-drop', { type, src, dst }) : write('fault-delay', { type, src, dst, ms: delayMs }),
  };

  return {
    observer,
    get dropped() {
      return dropped;
    },
    close() {
      closing ??= (async () => {
        if (timer !== undefined) clearTimeout(timer);
        if (droppedSinceNotice > 0) {
          const t = Math.round((performance.now() - started) * 10) / 10;
          pending += JSON.stringify({ t, event: 'dropped', count: droppedSinceNotice }) + '\n';
        }
        if (failure === undefined && pending !== '') stream.write(pending);
        pending = '';
        await new Promise<void>((resolve) => stream.end(() => resolve()));
        if (failure !== undefined) throw failure;
      })();
      return closing;
    },
  };
}
