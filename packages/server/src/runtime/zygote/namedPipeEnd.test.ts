import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { endWhenUnwritten } from "./namedPipeEnd";

const unix = process.platform !== "win32";
const open: number[] = [];
let dir = "";

/** A named pipe's two ends, as the server (reading, without waiting) and a run hold them. */
function namedPipe(): { read: number; write: number } {
  dir = mkdtempSync(join(tmpdir(), "mecha-fifo-"));
  const path = join(dir, "stdout");
  expect(spawnSync("mkfifo", [path]).status).toBe(0);
  const read = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const write = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  open.push(read, write);
  return { read, write };
}

function close(fd: number): void {
  closeSync(fd);
  open.splice(open.indexOf(fd), 1);
}

afterEach(() => {
  for (const fd of open.splice(0)) closeSync(fd);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A stream that, like libuv's over a named pipe on macOS, never learns that the pipe ended. */
const neverEnding = () => new Readable({ read() {} });

describe.skipIf(!unix)("endWhenUnwritten", () => {
  it("passes on what the pipe holds and ends the stream once its last writer has closed it", async () => {
    const { read, write } = namedPipe();
    const reader = neverEnding();
    const chunks: string[] = [];
    reader.on("data", (chunk: Buffer) => chunks.push(chunk.toString()));
    writeSync(write, "abc");
    let exit!: () => void;
    endWhenUnwritten(reader, read, new Promise<void>((resolve) => (exit = resolve)));
    exit();
    await once(reader, "data");
    expect(chunks.join("")).toBe("abc");
    // A process of the run still holds the pipe: no end yet, whatever is read meanwhile.
    writeSync(write, "def");
    await once(reader, "data");
    expect(reader.readableEnded).toBe(false);
    close(write);
    await once(reader, "end");
    expect(chunks.join("")).toBe("abcdef");
  });

  it("reads nothing before the run's first process has exited", async () => {
    const { read, write } = namedPipe();
    const reader = neverEnding();
    endWhenUnwritten(reader, read, new Promise(() => {}));
    writeSync(write, "kept");
    close(write);
    // Whatever the watcher would do comes after its promise's callbacks: all of them have run.
    await new Promise((resolve) => setImmediate(resolve));
    expect(reader.readableLength).toBe(0);
    const buffer = Buffer.alloc(16);
    expect(buffer.toString("utf8", 0, readSync(read, buffer))).toBe("kept");
  });

  it("never reads the descriptor of a stream already destroyed (its number may be reused)", async () => {
    const { read, write } = namedPipe();
    const reader = neverEnding();
    reader.destroy();
    endWhenUnwritten(reader, read, Promise.resolve());
    writeSync(write, "not the stream's");
    await new Promise((resolve) => setImmediate(resolve));
    const buffer = Buffer.alloc(32);
    expect(buffer.toString("utf8", 0, readSync(read, buffer))).toBe("not the stream's");
  });
});
