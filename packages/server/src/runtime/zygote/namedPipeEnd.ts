import { readSync } from "node:fs";
import type { Readable } from "node:stream";

/** How often a named pipe whose writers may be gone is looked at again. */
const LOOK_AGAIN_MS = 50;
const CHUNK = 65_536;

/**
 * Ends `reader` (a stream over the named pipe `fd`, see ZygoteProcess.fork) once no process
 * writes to that pipe any more and it has been read to its end. macOS's kqueue, through which
 * libuv reads a named pipe there, does not report that its last writer has closed it, so the
 * stream would never end; Linux's epoll does, and this then finds it ended already. From
 * `exited` on (the run's first process is gone) the pipe is read here, without waiting: what it
 * still holds is passed on in order, 0 bytes is its end, and EAGAIN means a process of the run
 * still holds it (looked at again every 50 ms, until the run ends).
 */
export function endWhenUnwritten(reader: Readable, fd: number, exited: Promise<unknown>): void {
  const look = () => {
    // Once the stream is destroyed its descriptor is closed, and the number may be another's.
    if (reader.destroyed || reader.readableEnded) return;
    const buffer = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      let count: number;
      try {
        count = readSync(fd, buffer, 0, CHUNK, null);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EAGAIN") {
          setTimeout(look, LOOK_AGAIN_MS).unref();
        }
        return;
      }
      if (count === 0) {
        reader.push(null);
        return;
      }
      reader.push(Buffer.from(buffer.subarray(0, count)));
    }
  };
  void exited.then(look);
}
