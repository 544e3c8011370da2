import { closeSync, writeSync } from "node:fs";
import { Socket } from "node:net";
import { Writable } from "node:stream";

/**
 * The server's end of a pipe into a run (non-blocking), written straight to the descriptor for
 * as long as the pipe takes each write: a run's job and its stdin usually fit its buffer
 * whole, and a libuv handle per pipe costs the event loop more than the writes themselves. A
 * write the pipe cannot take at once (a large job, a program not reading its stdin) moves the
 * pipe to a socket, which waits for room; everything after goes through it, in order.
 */
export class PipeWriter extends Writable {
  private fd: number | null;
  private socket: Socket | null = null;

  constructor(fd: number) {
    super();
    this.fd = fd;
  }

  private toSocket(): Socket {
    if (!this.socket) {
      this.socket = new Socket({ fd: this.fd as number, readable: false, writable: true });
      this.fd = null;
      this.socket.on("error", (error) => this.destroy(error));
    }
    return this.socket;
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    if (this.socket) {
      this.socket.write(chunk, callback);
      return;
    }
    const fd = this.fd as number;
    let offset = 0;
    try {
      while (offset < chunk.length) offset += writeSync(fd, chunk, offset);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN") {
        callback(error as Error);
        return;
      }
      this.toSocket().write(chunk.subarray(offset), callback);
      return;
    }
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.socket) {
      this.socket.end(callback);
      return;
    }
    this.closeFd();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket?.destroy();
    this.closeFd();
    callback(error);
  }

  private closeFd(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    this.fd = null;
  }
}
