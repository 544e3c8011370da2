import { describe, expect, it, vi } from "vitest";
import { isMechaError } from "./errors/isMechaError";
import { parseNdjson } from "./ndjson";

const encoder = new TextEncoder();

function streamOf(chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) {
        controller.enqueue(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
      }
      controller.close();
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<unknown[]> {
  const values: unknown[] = [];
  for await (const value of parseNdjson(stream)) values.push(value);
  return values;
}

describe("parseNdjson", () => {
  const text = '{"type":"stdout","data":"héllo ✓\\n"}\n{"n":2}\n\n{"n":3}';

  it("parses every line, including a last line without a newline, and skips blank ones", async () => {
    expect(await collect(streamOf([text]))).toEqual([
      { type: "stdout", data: "héllo ✓\n" },
      { n: 2 },
      { n: 3 },
    ]);
  });

  it("gives the same values however the bytes are chunked, even inside a UTF-8 character", async () => {
    const bytes = encoder.encode(text);
    const expected = await collect(streamOf([bytes]));
    for (let size = 1; size <= 7; size++) {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.slice(i, i + size));
      expect(await collect(streamOf(chunks))).toEqual(expected);
    }
  });

  it("yields each value as soon as its line is complete, before the stream ends", async () => {
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
      },
    });
    const iterator = parseNdjson(stream)[Symbol.asyncIterator]();
    controller.enqueue(encoder.encode('{"a":1}\n{"b":'));
    expect(await iterator.next()).toEqual({ value: { a: 1 }, done: false });
    const pending = iterator.next();
    controller.enqueue(encoder.encode("2}\n"));
    expect(await pending).toEqual({ value: { b: 2 }, done: false });
    controller.close();
    expect((await iterator.next()).done).toBe(true);
  });

  it("throws an invalid_response error for a line that is not JSON", async () => {
    const error = await collect(streamOf(['{"a":1}\n<html>oops</html>\n'])).catch((e) => e);
    expect(isMechaError(error, "invalid_response")).toBe(true);
    expect(error.message).toContain("<html>oops</html>");
  });

  it("cancels the stream when the consumer stops early", async () => {
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('{"a":1}\n{"a":2}\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const _value of parseNdjson(stream)) break;
    expect(cancelled).toBe(true);
  });

  it("passes on a stream error (a connection reset mid-run)", async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('{"a":1}\n'));
        controller.error(new TypeError("terminated"));
      },
    });
    await expect(collect(stream)).rejects.toThrow("terminated");
  });
});

describe("parseNdjson with a signal", () => {
  it("cancels the stream and ends when the signal aborts, even if the body never ends", async () => {
    let cancelled: unknown;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('{"a":1}\n'));
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    const controller = new AbortController();
    const values: unknown[] = [];
    const done = (async () => {
      for await (const value of parseNdjson(stream, controller.signal)) values.push(value);
    })();
    // Abort once the first line is through and the parser waits for more.
    await vi.waitFor(() => expect(values).toHaveLength(1));
    controller.abort("stop");
    await done;
    expect(values).toEqual([{ a: 1 }]);
    expect(cancelled).toBe("stop");
  });
});
