// Frames waiting for a slow reader: at most a little is handed to the socket at a time, so its read progress shows.
import type { Duplex } from 'node:stream';

/** The parts of a ws WebSocket used here. */
interface FrameSink {
  send(frame: string): void;
  readonly bufferedAmount: number;
  readonly readyState: number;
}

const OPEN = 1;

/** Bytes handed to a socket at once while its reader is behind: Node's own buffer size, at least 64 KiB. */
export function inFlightLimit(connection: Duplex): number {
  return Math.max(64 * 1024, connection.writableHighWaterMark);
}

/**
 * Why: Node gives the kernel everything a socket has buffered as one writev, and counts none of it
 * written (`bufferedAmount` does not move) until all of it is. Four megabytes handed over at once to
 * a reader of 500 kB/s would show no progress for eight seconds and look stalled. So once a socket
 * holds inFlightLimit() bytes, further frames wait here as strings and are handed over a little at a
 * time, each time the socket has written everything ('drain'). The stall check then sees progress
 * every few hundred milliseconds from any reader that reads at all.
 *
 * 'drain' comes because frames only wait here while the socket holds at least its high-water mark,
 * so the write that filled it returned false.
 */
export class SendQueue {
  /** Characters waiting here (a lower bound of their bytes). */
  chars = 0;
  private frames: string[] = [];
  private head = 0;
  private readonly sink: FrameSink;
  private readonly connection: Duplex;
  private readonly limit: number;
  private readonly onEmpty: () => void;

  /** Starts waiting for the socket to drain; `onEmpty` is called once nothing waits and the socket has room again. */
  constructor(sink: FrameSink, connection: Duplex, onEmpty: () => void) {
    this.sink = sink;
    this.connection = connection;
    this.limit = inFlightLimit(connection);
    this.onEmpty = onEmpty;
    connection.once('drain', this.pull);
  }

  push(frame: string): void {
    this.frames.push(frame);
    this.chars += frame.length;
  }

  private readonly pull = (): void => {
    if (this.sink.readyState !== OPEN) {
      // Closing: nothing more will be written; let the frames go.
      this.frames = [];
      this.chars = 0;
      return;
    }
    // Everything handed over in this turn leaves in one writev.
    this.connection.cork();
    while (this.head < this.frames.length && this.sink.bufferedAmount < this.limit) {
      const frame = this.frames[this.head]!;
      this.frames[this.head++] = '';
      this.chars -= frame.length;
      this.sink.send(frame);
    }
    this.connection.uncork();
    if (this.head === this.frames.length) {
      this.frames = [];
      this.head = 0;
      if (this.sink.bufferedAmount < this.limit) return this.onEmpty();
    } else if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.head = 0;
    }
    this.connection.once('drain', this.pull);
  };
}
