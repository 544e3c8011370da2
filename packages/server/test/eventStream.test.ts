/**
 * `GET /runs/{id}/events?after=` at its edges, and what a run's events and result hold the server
 * to for a client that reads slowly or not at all. On a runtime the test drives, so every step
 * waits for an event.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createHandler, type MechaHandler } from "../src/createHandler";
import { streamRun } from "../src/http/streamRun";
import type { SequencedEvent } from "../src/runs/eventLog";
import type { RunHandle } from "../src/runs/runRegistry";
import { fakeRuntime } from "./support/fakeRuntime";
import { get, lines, post, runBody, STREAM } from "./support/http";

const handlers: MechaHandler[] = [];
afterEach(async () => {
  await Promise.all(handlers.splice(0).map((handler) => handler.close()));
});

function setUp() {
  const fake = fakeRuntime();
  const handler = createHandler({ runtime: fake.runtime, logger: false });
  handlers.push(handler);
  return { handler, ...fake };
}

/** A streamed run, its program and its id once `started` has been read. */
async function streamed(handler: MechaHandler, started: ReturnType<typeof setUp>["started"]) {
  const next = started();
  const stream = lines(await post(handler, "/runs", runBody(), STREAM));
  const program = await next;
  const { id } = (await stream.next()) as { id: string };
  return { stream, program, id };
}

/** A body read to its end: its text, and how many bytes its first chunk held. */
async function readAll(response: Response): Promise<{ first: number; text: string }> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let first = -1;
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return { first, text };
    if (first < 0) first = value.byteLength;
    text += decoder.decode(value, { stream: true });
  }
}

async function problem(response: Response) {
  expect(response.status).toBe(400);
  return (await response.json()) as { code: string; detail: string };
}

describe("resuming a run's events", () => {
  it("ends at once, empty, for a reader that already has an ended run's exit", async () => {
    const { handler, started } = setUp();
    const { stream, program, id } = await streamed(handler, started);
    program.sink.stdout("hi\n");
    program.end();
    expect(await stream.next()).toMatchObject({ type: "stdout", seq: 1 });
    expect(await stream.next()).toMatchObject({ type: "exit", seq: 2 });
    const resumed = await get(handler, `/runs/${id}/events?after=2`);
    expect(resumed.status).toBe(200);
    expect(resumed.headers.get("content-type")).toContain("application/x-ndjson");
    expect(await resumed.text()).toBe("");
    // One before the exit: the exit alone, then the end.
    expect(await lines(await get(handler, `/runs/${id}/events?after=1`)).rest()).toEqual([
      expect.objectContaining({ type: "exit", seq: 2 }),
    ]);
  });

  it("refuses an `after` past the last event sent, on a live run and on an ended one", async () => {
    const { handler, started } = setUp();
    const { program, id } = await streamed(handler, started);
    const live = await problem(await get(handler, `/runs/${id}/events?after=5`));
    expect(live.code).toBe("invalid_request");
    expect(live.detail).toContain("seq 0 to 0");
    expect(live.detail).toContain("not 5");
    program.end();
    await program.ended;
    const ended = await problem(await get(handler, `/runs/${id}/events?after=3`));
    expect(ended.detail).toContain("seq 0 to 1");
  });

  it("refuses an `after` that is not written as a whole number", async () => {
    const { handler, started } = setUp();
    const { program, id } = await streamed(handler, started);
    program.end();
    for (const after of ["", "0x1", "%201", "1.0", "1e0", "-2", "+1", "01"]) {
      const refused = await problem(await get(handler, `/runs/${id}/events?after=${after}`));
      expect(refused.detail, after).toMatch(/whole number/);
    }
    expect((await get(handler, `/runs/${id}/events?after=-1`)).status).toBe(200);
  });
});

describe("a stream of much output", () => {
  it("comes in lines of at most 64 KiB of output, each serialized only as the client reads", async () => {
    const { handler, started } = setUp();
    const { stream, program, id } = await streamed(handler, started);
    await stream.cancel();
    // One MiB in 4 KiB writes, while nobody reads (within what a run's events keep).
    const piece = `${"x".repeat(4095)}\n`;
    for (let i = 0; i < 256; i++) program.sink.stdout(piece);
    program.end();
    await program.ended;

    const { first, text } = await readAll(await get(handler, `/runs/${id}/events`));
    // One chunk of the replay, not the run's whole output.
    expect(first).toBeLessThan(256 * 1024);
    const events = text
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string; data?: string; seq: number });
    const output = events.filter((event) => event.type === "stdout");
    expect(output.every((event) => event.data!.length <= 64 * 1024)).toBe(true);
    expect(output.map((event) => event.data).join("") === piece.repeat(256)).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: "exit", seq: 257 });
    // Merged lines carry their last chunk's seq, in order.
    const seqs = events.map((event) => event.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it("answers GET /runs/{id} of a large result a chunk at a time, as JSON.parse reads it whole", async () => {
    const { handler, started } = setUp();
    const next = started();
    const answer = post(handler, "/runs", runBody());
    const program = await next;
    const piece = `${"é".repeat(4095)}\n`;
    for (let i = 0; i < 256; i++) program.sink.stdout(piece);
    program.end();
    const whole = (await (await answer).json()) as { id: string; stdout: string };
    const { first, text } = await readAll(await get(handler, `/runs/${whole.id}`));
    expect(first).toBeLessThan(256 * 1024);
    expect(JSON.parse(text)).toEqual(whole);
    expect(whole.stdout.length).toBe(piece.length * 256);
  });

  it("ends at a gap, not holding them all, when events made for it alone pile up unread", async () => {
    // A run on another runner: each follower's events are its own copies, read from Redis.
    let unfollowed = 0;
    const piece = "x".repeat(64 * 1024);
    const events: SequencedEvent[] = [{ type: "started", id: "run_1", seq: 0 }];
    for (let seq = 1; seq <= 64; seq++) events.push({ type: "stdout", data: piece, seq });
    const remote = {
      id: "run_1",
      copiesEvents: true,
      async follow(after: number, listener: (event: SequencedEvent) => void) {
        for (const event of events) if (event.seq > after) listener(event);
        return () => {
          unfollowed++;
        };
      },
    } as unknown as RunHandle;
    const text = await streamRun(remote, new Headers()).text();
    const read = text
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as SequencedEvent);
    // About 1 MiB of the 4 delivered, in order, then the end without `exit`: the client asks
    // again from its last seq.
    const output = read.filter((event) => event.type === "stdout");
    const chars = output.reduce((sum, event) => sum + (event as { data: string }).data.length, 0);
    expect(chars).toBeGreaterThanOrEqual(1024 * 1024);
    expect(chars).toBeLessThan(2 * 1024 * 1024);
    expect(read.some((event) => event.type === "exit")).toBe(false);
    expect(read.map((event) => event.seq)).toEqual(
      [...read.map((event) => event.seq)].sort((a, b) => a - b),
    );
    expect(unfollowed).toBe(1);
  });
});
