/**
 * Wave 2 of protocol 1 on the in-process handler: numbered events, a run after the fact
 * (`GET /runs/{id}`, `GET /runs/{id}/events?after=`), `Idempotency-Key`, runs owned by the
 * principal `authorize` names, `GET /runtimes`, `GET /metrics` and `/health`'s `features`. On a
 * runtime the test drives, so every step waits for an event, not for time.
 */
import type { RunResult } from "@mecha/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { createHandler, type MechaHandler } from "../src/createHandler";
import type { HandlerOptions } from "../src/options";
import { fakeRuntime } from "./support/fakeRuntime";

const handlers: MechaHandler[] = [];
afterEach(async () => {
  await Promise.all(handlers.splice(0).map((handler) => handler.close()));
});

function setUp(options: HandlerOptions = {}) {
  const fake = fakeRuntime({ packages: [{ name: "numpy", version: "1.24.2" }] });
  const handler = createHandler({ runtime: fake.runtime, logger: false, ...options });
  handlers.push(handler);
  return { handler, ...fake };
}

const runBody = (code = "print(1)") => JSON.stringify({ language: "python", code });

function post(
  handler: MechaHandler,
  path: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return handler(
    new Request(`http://localhost${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    }),
  );
}

const get = (handler: MechaHandler, path: string, headers: Record<string, string> = {}) =>
  handler(new Request(`http://localhost${path}`, { headers }));

/** Reads NDJSON lines from a response as they come. */
function lines(response: Response) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  const queue: Record<string, unknown>[] = [];
  return {
    async next(): Promise<Record<string, unknown>> {
      while (queue.length === 0) {
        const { value, done } = await reader.read();
        if (done) throw new Error("the stream ended");
        buffered += decoder.decode(value, { stream: true });
        const parts = buffered.split("\n");
        buffered = parts.pop()!;
        for (const part of parts) if (part) queue.push(JSON.parse(part));
      }
      return queue.shift()!;
    },
    cancel: () => reader.cancel(),
  };
}

describe("a run after the fact", () => {
  it("numbers every event of a stream 0, 1, 2, … in order", async () => {
    const { handler, started } = setUp();
    const next = started();
    const stream = lines(
      await post(handler, "/runs", runBody(), { accept: "application/x-ndjson" }),
    );
    const program = await next;
    expect(await stream.next()).toMatchObject({ type: "started", seq: 0 });
    program.sink.stdout("a");
    expect(await stream.next()).toMatchObject({ type: "stdout", seq: 1, data: "a" });
    program.sink.stderr("b");
    expect(await stream.next()).toMatchObject({ type: "stderr", seq: 2, data: "b" });
    program.end();
    expect(await stream.next()).toMatchObject({ type: "exit", seq: 3 });
  });

  it("says in `started` the limits the run is held to: clamped to the maxima, defaults filled in", async () => {
    const { handler, started } = setUp({ maxLimits: { timeoutMs: 120_000 } });
    const next = started();
    const stream = lines(
      await post(
        handler,
        "/runs",
        JSON.stringify({ language: "python", code: "", limits: { timeoutMs: 999_999 } }),
        { accept: "application/x-ndjson" },
      ),
    );
    const program = await next;
    expect(await stream.next()).toEqual({
      type: "started",
      seq: 0,
      id: program.job.id,
      limits: { timeoutMs: 120_000, memoryMb: 256, outputBytes: 1 << 20 },
    });
    program.end();
    expect(await stream.next()).toMatchObject({ type: "exit" });
  });

  it("answers GET /runs/{id} with 202 and where it is, then its result", async () => {
    const { handler, started } = setUp();
    const next = started();
    const stream = lines(
      await post(handler, "/runs", runBody(), { accept: "application/x-ndjson" }),
    );
    const program = await next;
    const { id } = (await stream.next()) as { id: string };
    const pending = await get(handler, `/runs/${id}`);
    expect(pending.status).toBe(202);
    expect(await pending.json()).toEqual({ id, status: "running" });
    program.sink.stdout("done\n");
    program.end();
    await stream.next();
    await stream.next();
    const ended = await get(handler, `/runs/${id}`);
    expect(ended.status).toBe(200);
    expect((await ended.json()) as RunResult).toMatchObject({
      id,
      status: "succeeded",
      stdout: "done\n",
    });
    expect((await get(handler, "/runs/run_nosuchrun")).status).toBe(404);
  });

  it("replays a dropped stream from after the last seq it got, exactly once, then goes on live", async () => {
    const { handler, started } = setUp();
    const next = started();
    const first = lines(
      await post(handler, "/runs", runBody(), { accept: "application/x-ndjson" }),
    );
    const program = await next;
    const { id } = (await first.next()) as { id: string };
    program.sink.stdout("one ");
    expect(await first.next()).toMatchObject({ seq: 1, data: "one " });
    await first.cancel();
    // Dropped: the program goes on, and writes while nobody listens.
    program.sink.stdout("two ");
    program.sink.stderr("oops");
    const resumed = lines(await get(handler, `/runs/${id}/events?after=1`));
    expect(await resumed.next()).toMatchObject({ type: "stdout", seq: 2, data: "two " });
    expect(await resumed.next()).toMatchObject({ type: "stderr", seq: 3, data: "oops" });
    program.sink.stdout("three");
    expect(await resumed.next()).toMatchObject({ type: "stdout", seq: 4, data: "three" });
    program.end();
    expect(await resumed.next()).toMatchObject({ type: "exit", seq: 5 });
    // From the start, neighbouring chunks of one stream come merged: same bytes, the last seq.
    const whole = lines(await get(handler, `/runs/${id}/events`));
    const replayed: Record<string, unknown>[] = [];
    do replayed.push(await whole.next());
    while (replayed.at(-1)!.type !== "exit");
    expect(replayed.map((event) => [event.type, event.seq])).toEqual([
      ["started", 0],
      ["stdout", 2],
      ["stderr", 3],
      ["stdout", 4],
      ["exit", 5],
    ]);
    expect(replayed[1]!.data).toBe("one two ");
    // Dropping the first stream did not cancel the run: it ran to its end.
    expect(program.cancelled).toBe(false);
  });

  it("cancels a run its client dropped and did not come back for within the resume window", async () => {
    const { handler, started } = setUp({ resumeWindowMs: 1 });
    const next = started();
    const stream = lines(
      await post(handler, "/runs", runBody(), { accept: "application/x-ndjson" }),
    );
    const program = await next;
    await stream.next();
    await stream.cancel();
    expect((await program.ended).status).toBe("cancelled");
  });

  it("rejects an `after` that is not a seq", async () => {
    const { handler, started } = setUp();
    const next = started();
    const stream = lines(
      await post(handler, "/runs", runBody(), { accept: "application/x-ndjson" }),
    );
    (await next).end();
    const { id } = (await stream.next()) as { id: string };
    const response = await get(handler, `/runs/${id}/events?after=x`);
    expect(response.status).toBe(400);
    expect((await response.json()).code).toBe("invalid_request");
  });
});

describe("Idempotency-Key", () => {
  it("answers a repeated request with the same run, never a second execution", async () => {
    const { handler, programs, started } = setUp();
    const next = started();
    const headers = { "idempotency-key": "retry-me" };
    const first = post(handler, "/runs", runBody(), headers);
    const program = await next;
    const second = post(handler, "/runs", runBody(), headers);
    program.sink.stdout("once\n");
    program.end();
    const [a, b] = await Promise.all([first, second]);
    const [resultA, resultB] = [(await a.json()) as RunResult, (await b.json()) as RunResult];
    expect(resultB.id).toBe(resultA.id);
    expect(resultB.stdout).toBe("once\n");
    expect(programs).toHaveLength(1);
    const different = await post(handler, "/runs", runBody("print(2)"), headers);
    expect(different.status).toBe(400);
    expect((await different.json()).detail).toContain("different request");
  });
});

describe("runs belong to the principal authorize names", () => {
  it("gives another principal 404 for their id, stdin, cancel and events", async () => {
    const { handler, started } = setUp({
      authorize: (request) => request.headers.get("x-user") ?? false,
    });
    const next = started();
    const stream = lines(
      await post(handler, "/runs", runBody(), {
        accept: "application/x-ndjson",
        "x-user": "alice",
      }),
    );
    const program = await next;
    const { id } = (await stream.next()) as { id: string };
    const bob = { "x-user": "bob" };
    for (const response of [
      await get(handler, `/runs/${id}`, bob),
      await get(handler, `/runs/${id}/events`, bob),
      await post(handler, `/runs/${id}/stdin`, JSON.stringify({ data: "x" }), bob),
      await post(handler, `/runs/${id}/cancel`, "{}", bob),
    ]) {
      expect(response.status).toBe(404);
      expect((await response.json()).code).toBe("not_found");
    }
    expect((await get(handler, `/runs/${id}`, { "x-user": "alice" })).status).toBe(202);
    expect(program.cancelled).toBe(false);
    program.end();
  });
});

describe("what a client can ask before running", () => {
  it("lists runtimes with their packages and limits", async () => {
    const { handler } = setUp({ maxLimits: { timeoutMs: 120_000 } });
    const response = await get(handler, "/runtimes");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([
      {
        language: "python",
        version: "3.11.2",
        isolation: "sandbox",
        packages: [{ name: "numpy", version: "1.24.2" }],
        limits: {
          defaults: { timeoutMs: 10_000, memoryMb: 256, outputBytes: 1 << 20 },
          maxima: { timeoutMs: 120_000, memoryMb: 1024, outputBytes: 10 << 20 },
        },
      },
    ]);
  });

  it("says what is on in /health's features", async () => {
    const { handler } = setUp();
    const health = await (await get(handler, "/health")).json();
    expect(health.features).toEqual(expect.arrayContaining(["runtimes", "resume", "metrics"]));
    const off = setUp({ metrics: false });
    expect((await (await get(off.handler, "/health")).json()).features).not.toContain("metrics");
    expect((await get(off.handler, "/metrics")).status).toBe(404);
  });

  it("serves Prometheus metrics: runs by status, durations, running and queued", async () => {
    const { handler, started } = setUp();
    const next = started();
    const done = post(handler, "/runs", runBody());
    (await next).end({ status: "failed", exitCode: 1 });
    await done;
    const response = await get(handler, "/metrics");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/plain");
    const text = await response.text();
    expect(text).toContain('mecha_runs_total{status="failed"} 1');
    expect(text).toContain("mecha_run_duration_seconds_count 1");
    expect(text).toMatch(/mecha_runs_running 0/);
    expect(text).toMatch(/mecha_runs_queued 0/);
  });
});
