/**
 * Admission, queueing, rate limits, authorization, shutdown and clients that go away, behind
 * every way a host mounts the handler, on a runtime the test drives: each step waits for an
 * event (a program starting, a line arriving), never for time.
 */
import { HealthResponse, Problem, RunResult } from "@mecha/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { createHandler, type MechaHandler } from "../src/createHandler";
import type { HandlerOptions } from "../src/options";
import { json, readEvents, TARGETS } from "./conformance/targets";
import { fakeRuntime } from "./support/fakeRuntime";

const handlers: MechaHandler[] = [];
afterEach(async () => {
  await Promise.all(handlers.splice(0).map((handler) => handler.close()));
});

function setUp(options: HandlerOptions = {}) {
  const fake = fakeRuntime();
  const handler = createHandler({ runtime: fake.runtime, logger: false, ...options });
  handlers.push(handler);
  const run = (code = "print(1)", headers: Record<string, string> = {}) =>
    handler(new Request("http://localhost/runs", json({ language: "python", code }, headers)));
  return { handler, run, ...fake };
}

describe("admission control", () => {
  it("answers 503 busy with Retry-After when the queue is full", async () => {
    const { run, started } = setUp({ maxConcurrent: 1, maxQueued: 0 });
    const next = started();
    const first = run();
    const program = await next;
    const rejected = await run();
    expect(rejected.status).toBe(503);
    expect(rejected.headers.get("retry-after")).toBe("1");
    expect(Problem.parse(await rejected.json()).code).toBe("busy");
    program.end();
    expect(RunResult.parse(await (await first).json()).status).toBe("succeeded");
  });

  it("queues runs beyond the concurrency, reports them in /health, and runs them in order", async () => {
    const { handler, run, programs, started } = setUp({ maxConcurrent: 1, maxQueued: 2 });
    const next = started();
    const results = [1, 2, 3].map((n) => run(`print(${n})`));
    await next;
    const health = await handler.health();
    expect(health.capacity).toMatchObject({ running: 1, queued: 2 });
    expect(health.status).toBe("degraded");
    for (let n = 1; n <= 3; n++) {
      const program = programs[n - 1]!;
      expect(program.job.code).toBe(`print(${n})`);
      const following = n < 3 ? started() : null;
      program.sink.stdout(`${n}\n`);
      program.end();
      await following;
    }
    const bodies = await Promise.all(
      results.map(async (r) => RunResult.parse(await (await r).json())),
    );
    expect(bodies.map((body) => body.stdout)).toEqual(["1\n", "2\n", "3\n"]);
  });

  it("announces a queued streaming run with `started` only when it leaves the queue", async () => {
    const { run, programs, started } = setUp({ maxConcurrent: 1, maxQueued: 1 });
    const first = started();
    const blocker = run();
    const blocking = await first;
    const second = started();
    const response = await run("print('second')", { accept: "application/x-ndjson" });
    const seen: string[] = [];
    const events = readEvents(response, (event) => {
      seen.push(event.type);
    });
    // Queued: the second program has not started, so there is nothing to announce yet.
    expect(programs).toHaveLength(1);
    blocking.end();
    const program = await second;
    program.end();
    const all = await events;
    expect(all[0]?.type).toBe("started");
    expect(all.at(-1)?.type).toBe("exit");
    expect(seen[0]).toBe("started");
    await blocker;
  });

  it("answers 429 rate_limited with Retry-After per key", async () => {
    const { run, runtime } = setUp({
      rateLimit: {
        limit: 2,
        windowMs: 60_000,
        key: (request) => request.headers.get("x-user") ?? "anon",
      },
    });
    const ends = () => {
      const start = runtime.start.bind(runtime);
      runtime.start = (job, sink) => {
        const program = start(job, sink);
        program.cancel();
        return program;
      };
    };
    ends();
    expect((await run("print(1)", { "x-user": "a" })).status).toBe(200);
    expect((await run("print(1)", { "x-user": "a" })).status).toBe(200);
    const limited = await run("print(1)", { "x-user": "a" });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Problem.parse(await limited.json()).code).toBe("rate_limited");
    expect((await run("print(1)", { "x-user": "b" })).status).toBe(200);
  });

  it("lets the host's authorize hook answer 401 or 403", async () => {
    const { handler } = setUp({
      authorize: (request) => {
        const token = request.headers.get("authorization");
        if (!token) return { status: 401 };
        return token === "Bearer good";
      },
    });
    const health = (headers: Record<string, string>) =>
      handler(new Request("http://localhost/health", { headers }));
    expect((await health({})).status).toBe(401);
    expect((await health({ authorization: "Bearer bad" })).status).toBe(403);
    expect((await health({ authorization: "Bearer good" })).status).toBe(200);
  });

  it("close() ends running programs and refuses new runs", async () => {
    const fake = fakeRuntime();
    const handler = createHandler({ runtime: fake.runtime, logger: false });
    const next = fake.started();
    const pending = handler(
      new Request("http://localhost/runs", json({ language: "python", code: "wait()" })),
    );
    await next;
    await handler.close();
    expect(RunResult.parse(await (await pending).json()).status).toBe("cancelled");
    const after = await handler(
      new Request("http://localhost/runs", json({ language: "python", code: "print(1)" })),
    );
    expect(after.status).toBe(503);
    expect(HealthResponse.parse(await handler.health()).capacity.running).toBe(0);
  });
});

describe.each(TARGETS)("a client that goes away, through $name", (target) => {
  it("leaves its streaming run to be cancelled once the resume window has passed", async () => {
    const fake = fakeRuntime();
    const api = await target.setup({ runtime: fake.runtime, logger: false, resumeWindowMs: 1 });
    try {
      const controller = new AbortController();
      const next = fake.started();
      const response = await api.fetch("/runs", {
        ...json({ language: "python", code: "wait()" }, { accept: "application/x-ndjson" }),
        signal: controller.signal,
      });
      const program = await next;
      const reader = response.body!.getReader();
      await reader.read();
      controller.abort();
      await reader.cancel().catch(() => {});
      expect((await program.ended).status).toBe("cancelled");
    } finally {
      await api.close();
    }
  });

  it("leaves its JSON run to be cancelled once the resume window has passed", async () => {
    const fake = fakeRuntime();
    const api = await target.setup({ runtime: fake.runtime, logger: false, resumeWindowMs: 1 });
    try {
      const controller = new AbortController();
      const next = fake.started();
      const response = api
        .fetch("/runs", {
          ...json({ language: "python", code: "wait()" }),
          signal: controller.signal,
        })
        .catch((error: unknown) => error);
      const program = await next;
      controller.abort();
      expect((await program.ended).status).toBe("cancelled");
      await response;
    } finally {
      await api.close();
    }
  });
});
