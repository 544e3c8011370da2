import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  ExecuteResponse,
  HealthResponse,
  Problem,
  type RunEvent,
  RunEvent as RunEventSchema,
  RunResult,
} from "@mecha/protocol";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHandler, type MechaHandler } from "../src/createHandler";
import { createRouteHandlers } from "../src/next";
import { toNodeListener } from "../src/node";
import type { HandlerOptions } from "../src/options";

/**
 * One protocol suite, run against every way a host can mount the handler: the bare Fetch
 * handler, Node's http server, Express 5 under a mount path (after express.json()), and the
 * Next.js App Router route handlers.
 */

type Fetcher = (path: string, init?: RequestInit) => Promise<Response>;

interface Target {
  name: string;
  setup(
    options: HandlerOptions,
  ): Promise<{ fetch: Fetcher; handler: MechaHandler; close(): Promise<void> }>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

const TARGETS: Target[] = [
  {
    name: "fetch handler",
    async setup(options) {
      const handler = createHandler(options);
      return {
        handler,
        fetch: (path, init) => handler(new Request(`http://localhost${path}`, init)),
        close: () => handler.close(),
      };
    },
  },
  {
    name: "node http",
    async setup(options) {
      const handler = createHandler(options);
      const server = createServer(toNodeListener(handler));
      const base = await listen(server);
      return {
        handler,
        fetch: (path, init) => fetch(`${base}${path}`, init),
        close: async () => {
          await closeServer(server);
          await handler.close();
        },
      };
    },
  },
  {
    name: "express 5 mount",
    async setup(options) {
      const handler = createHandler(options);
      const app = express();
      app.use("/api/mecha", toNodeListener(handler));
      app.use(express.json());
      app.get("/", (_req, res) => {
        res.send("host app");
      });
      const server = createServer(app);
      const base = await listen(server);
      return {
        handler,
        fetch: (path, init) => fetch(`${base}/api/mecha${path}`, init),
        close: async () => {
          await closeServer(server);
          await handler.close();
        },
      };
    },
  },
  {
    name: "next route handlers",
    async setup(options) {
      const route = createRouteHandlers({ ...options, basePath: "/api/mecha" });
      const methods = route as unknown as Record<string, (request: Request) => Promise<Response>>;
      return {
        handler: route.handler,
        fetch: (path, init) => {
          const method = (init?.method ?? "GET").toUpperCase();
          const request = new Request(`http://localhost:3000/api/mecha${path}`, init);
          return methods[method]!(request);
        },
        close: () => route.handler.close(),
      };
    },
  },
];

const json = (body: unknown, extra: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", ...extra },
  body: JSON.stringify(body),
});

/** Reads an NDJSON run stream, calling `onEvent` as each line arrives. */
async function readEvents(
  response: Response,
  onEvent: (event: RunEvent, at: number) => void | Promise<void>,
): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += value;
    let newline = buffer.indexOf("\n");
    while (newline >= 0) {
      const event = RunEventSchema.parse(JSON.parse(buffer.slice(0, newline)));
      buffer = buffer.slice(newline + 1);
      newline = buffer.indexOf("\n");
      events.push(event);
      await onEvent(event, performance.now());
    }
  }
  return events;
}

describe.each(TARGETS)("protocol v1 through $name", (target) => {
  let api: Awaited<ReturnType<Target["setup"]>>;
  const origin = "http://localhost:3000";

  beforeAll(async () => {
    api = await target.setup({
      logger: false,
      cors: [origin],
      maxCodeBytes: 64 * 1024,
      maxBodyBytes: 512 * 1024,
    });
  });
  afterAll(() => api.close());

  const post = (path: string, body: unknown, headers?: Record<string, string>) =>
    api.fetch(path, json(body, headers));

  async function expectProblem(response: Response, status: number, code: string) {
    expect(response.status).toBe(status);
    expect(response.headers.get("content-type")).toContain("application/problem+json");
    const problem = Problem.parse(await response.json());
    expect(problem.code).toBe(code);
    expect(problem.status).toBe(status);
    expect(problem.detail.length).toBeGreaterThan(0);
    return problem;
  }

  it("reports health, capacity and isolation", async () => {
    const response = await api.fetch("/health");
    expect(response.status).toBe(200);
    const health = HealthResponse.parse(await response.json());
    expect(health.status).toBe("ok");
    expect(health.protocol).toBe(1);
    expect(health.runtimes[0]).toMatchObject({ language: "python" });
    expect(health.runtimes[0]!.version).toMatch(/^3\.\d+\.\d+/);
    expect(["sandbox", "process"]).toContain(health.runtimes[0]!.isolation);
    expect(health.capacity.running).toBe(0);
  });

  it("runs a program and answers with its result as JSON", async () => {
    const response = await post("/runs", { language: "python", code: "print(6 * 7)" });
    expect(response.status).toBe(200);
    const result = RunResult.parse(await response.json());
    expect(result).toMatchObject({ status: "succeeded", exitCode: 0, stdout: "42\n", stderr: "" });
    expect(result.id).toMatch(/^run_/);
  });

  it("keeps a failing program's result at HTTP 200 with the error parsed", async () => {
    const response = await post("/runs", {
      language: "python",
      code: "print('partial')\nimport sys\nsys.stderr.write('warn\\n')\nraise ValueError('broken')",
    });
    expect(response.status).toBe(200);
    const result = RunResult.parse(await response.json());
    expect(result).toMatchObject({ status: "failed", exitCode: 1, stdout: "partial\n" });
    expect(result.stderr).toContain("warn\n");
    expect(result.error).toMatchObject({ type: "ValueError", message: "broken", line: 4 });
  });

  it("streams output while the program still runs, in order, ending with exit", async () => {
    const response = await post(
      "/runs",
      {
        language: "python",
        code: "import time, sys\nprint('one')\ntime.sleep(0.6)\nprint('two', file=sys.stderr)\ntime.sleep(0.3)\nprint('three')",
      },
      { accept: "application/x-ndjson" },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/x-ndjson");
    const times = new Map<string, number>();
    const events = await readEvents(response, (event, at) => {
      const key =
        event.type === "stdout" || event.type === "stderr" ? event.data.trim() : event.type;
      if (key && !times.has(key)) times.set(key, at);
    });
    expect(events[0]).toMatchObject({ type: "started" });
    // Chunks may split anywhere (Python writes "one" and "\n" separately); merge runs of a stream.
    const output: [string, string][] = [];
    for (const event of events) {
      if (event.type !== "stdout" && event.type !== "stderr") continue;
      const last = output.at(-1);
      if (last && last[0] === event.type) last[1] += event.data;
      else output.push([event.type, event.data]);
    }
    expect(output).toEqual([
      ["stdout", "one\n"],
      ["stderr", "two\n"],
      ["stdout", "three\n"],
    ]);
    const last = events.at(-1)!;
    expect(last.type).toBe("exit");
    if (last.type === "exit") expect(last.result.stdout).toBe("one\nthree\n");
    // "one" reached us well before the program ended.
    expect(times.get("exit")! - times.get("one")!).toBeGreaterThan(500);
  });

  it("takes input() interactively over POST /runs/{id}/stdin", async () => {
    const response = await post(
      "/runs",
      {
        language: "python",
        code: "name = input('Your name? ')\nprint('Hello, ' + name + '!')\ncolour = input('Colour? ')\nprint(colour.upper())",
      },
      { accept: "application/x-ndjson" },
    );
    let id = "";
    const answers = ["Ada", "teal"];
    const prompts: string[] = [];
    const events = await readEvents(response, async (event) => {
      if (event.type === "started") id = event.id;
      if (event.type === "input") {
        prompts.push(event.prompt);
        const reply = await post(`/runs/${id}/stdin`, { data: `${answers.shift()}\n` });
        expect(reply.status).toBe(204);
      }
    });
    expect(prompts).toEqual(["Your name? ", "Colour? "]);
    const exit = events.at(-1)!;
    expect(exit.type).toBe("exit");
    if (exit.type === "exit") {
      expect(exit.result.status).toBe("succeeded");
      expect(exit.result.stdout).toBe("Your name? Hello, Ada!\nColour? TEAL\n");
    }
    // The prompt was streamed as output before the input event.
    const promptIndex = events.findIndex(
      (e) => e.type === "stdout" && e.data.includes("Your name? "),
    );
    const inputIndex = events.findIndex((e) => e.type === "input");
    expect(promptIndex).toBeGreaterThan(-1);
    expect(promptIndex).toBeLessThan(inputIndex);
  });

  it("closes stdin on eof, so the program sees end of input", async () => {
    const response = await post(
      "/runs",
      { language: "python", code: "import sys\nprint(repr(sys.stdin.read()))" },
      { accept: "application/x-ndjson" },
    );
    const events = await readEvents(response, async (event) => {
      if (event.type === "started") {
        expect((await post(`/runs/${event.id}/stdin`, { data: "a\nb" })).status).toBe(204);
        expect((await post(`/runs/${event.id}/stdin`, { data: "c", eof: true })).status).toBe(204);
      }
    });
    const exit = events.at(-1)!;
    if (exit.type === "exit") expect(exit.result.stdout).toBe("'a\\nbc'\n");
  });

  it("cancels a running program with POST /runs/{id}/cancel", async () => {
    const response = await post(
      "/runs",
      { language: "python", code: "import time\nprint('working', flush=True)\ntime.sleep(30)" },
      { accept: "application/x-ndjson" },
    );
    let cancelStatus = 0;
    let id = "";
    let seen = "";
    const events = await readEvents(response, async (event) => {
      if (event.type === "started") id = event.id;
      if (event.type === "stdout") seen += event.data;
      if (seen.includes("\n") && cancelStatus === 0) {
        cancelStatus = (await api.fetch(`/runs/${id}/cancel`, { method: "POST" })).status;
      }
    });
    const started = { id };
    expect(cancelStatus).toBe(202);
    const exit = events.at(-1)!;
    expect(exit.type).toBe("exit");
    if (exit.type === "exit") {
      expect(exit.result.status).toBe("cancelled");
      expect(exit.result.stdout).toBe("working\n");
      expect(exit.result.durationMs).toBeLessThan(10_000);
    }
    const late = await post(`/runs/${started.id}/stdin`, { data: "x" });
    await expectProblem(late, 409, "run_finished");
    await expectProblem(
      await api.fetch(`/runs/${started.id}/cancel`, { method: "POST" }),
      409,
      "run_finished",
    );
  });

  it("answers 404 for unknown runs and routes, 405 for wrong methods", async () => {
    await expectProblem(await api.fetch("/runs/nope/cancel", { method: "POST" }), 404, "not_found");
    await expectProblem(await post("/runs/nope/stdin", { data: "x" }), 404, "not_found");
    await expectProblem(await api.fetch("/nowhere"), 404, "not_found");
    const wrong = await api.fetch("/runs");
    await expectProblem(wrong, 405, "method_not_allowed");
    expect(wrong.headers.get("allow")).toBe("POST");
  });

  it("rejects malformed JSON and schema violations with 400 and the issues", async () => {
    const malformed = await api.fetch("/runs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    await expectProblem(malformed, 400, "invalid_request");
    const wrongType = await expectProblem(
      await post("/runs", { language: "python", code: 5 }),
      400,
      "invalid_request",
    );
    expect(wrongType.issues?.[0]?.path).toEqual(["code"]);
    await expectProblem(
      await post("/runs", { language: "cobol", code: "x" }),
      400,
      "invalid_request",
    );
    await expectProblem(
      await post("/runs", {
        language: "python",
        code: "",
        files: [{ path: "../x.py", content: "" }],
      }),
      400,
      "invalid_request",
    );
  });

  it("rejects oversized code and bodies with 413", async () => {
    await expectProblem(
      await post("/runs", { language: "python", code: "#".repeat(65 * 1024) }),
      413,
      "payload_too_large",
    );
    await expectProblem(
      await post("/runs", { language: "python", code: "", stdin: "x".repeat(600 * 1024) }),
      413,
      "payload_too_large",
    );
  });

  it("rejects bodies that are not JSON with 415", async () => {
    const response = await api.fetch("/runs", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "print(1)",
    });
    await expectProblem(response, 415, "unsupported_media_type");
  });

  it("serves the original IDE's POST /execute contract", async () => {
    const ok = await post("/execute", { code: "print('hi')", language: "python" });
    expect(ok.status).toBe(200);
    const body = ExecuteResponse.parse(await ok.json());
    expect(body).toMatchObject({ success: true, output: "hi\n", error: null });
    expect(body.execution_time).toBeGreaterThan(0);
    expect(body.execution_time).toBeLessThan(10);

    const failed = ExecuteResponse.parse(
      await (await post("/execute", { code: "print('a')\n1/0" })).json(),
    );
    expect(failed.success).toBe(false);
    expect(failed.output).toBe("a\n");
    expect(failed.error).toContain("ZeroDivisionError: division by zero");

    const bad = await post("/execute", { language: "python" });
    expect(bad.status).toBe(400);
    expect(ExecuteResponse.parse(await bad.json()).success).toBe(false);
    const ruby = await post("/execute", { code: "puts 1", language: "ruby" });
    expect(ruby.status).toBe(400);
    expect((await ruby.json()).error).toContain("ruby");
  });

  it("answers the CORS preflight of the original frontend and exposes Retry-After", async () => {
    const preflight = await api.fetch("/execute", {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(origin);
    expect(preflight.headers.get("access-control-allow-methods")).toContain("POST");
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain(
      "content-type",
    );

    const actual = await post("/execute", { code: "print(1)" }, { origin });
    expect(actual.headers.get("access-control-allow-origin")).toBe(origin);
    expect(actual.headers.get("access-control-expose-headers")).toContain("Retry-After");

    const stranger = await post(
      "/execute",
      { code: "print(1)" },
      { origin: "https://evil.example" },
    );
    expect(stranger.headers.get("access-control-allow-origin")).toBeNull();
  });

  if (target.name !== "fetch handler" && target.name !== "next route handlers") {
    it("cancels the run when the client disconnects mid-stream", async () => {
      const controller = new AbortController();
      const response = await api.fetch("/runs", {
        ...json(
          { language: "python", code: "import time\nprint('up', flush=True)\ntime.sleep(30)" },
          { accept: "application/x-ndjson" },
        ),
        signal: controller.signal,
      });
      const reader = response.body!.getReader();
      await reader.read();
      expect((await api.handler.health()).capacity.running).toBe(1);
      controller.abort();
      const deadline = Date.now() + 5000;
      let running = 1;
      while (Date.now() < deadline) {
        running = (await api.handler.health()).capacity.running;
        if (running === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(running).toBe(0);
    });
  }

  it("cancels the run when the request's signal aborts", async () => {
    const controller = new AbortController();
    const response = api
      .fetch("/runs", {
        ...json({ language: "python", code: "import time\ntime.sleep(30)" }),
        signal: controller.signal,
      })
      .catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await api.handler.health()).capacity.running).toBe(1);
    controller.abort();
    const deadline = Date.now() + 4000;
    let running = 1;
    while (Date.now() < deadline) {
      running = (await api.handler.health()).capacity.running;
      if (running === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(running).toBe(0);
    await response;
  });
});

describe("express hosts", () => {
  it("accepts a body that express.json() has already parsed", async () => {
    const handler = createHandler({ logger: false });
    const app = express();
    app.use(express.json({ limit: "10mb" }));
    app.use("/api/mecha", toNodeListener(handler));
    const server = createServer(app);
    const base = await listen(server);
    try {
      const response = await fetch(
        `${base}/api/mecha/runs`,
        json({ language: "python", code: "print('parsed')" }),
      );
      expect(response.status).toBe(200);
      expect((await response.json()).stdout).toBe("parsed\n");
      const legacy = await fetch(`${base}/api/mecha/execute`, json({ code: "print(2)" }));
      expect((await legacy.json()).output).toBe("2\n");
    } finally {
      await closeServer(server);
      await handler.close();
    }
  });
});

describe("admission control", () => {
  it("answers 503 busy with Retry-After when the queue is full", async () => {
    const handler = createHandler({ logger: false, maxConcurrent: 1, maxQueued: 0 });
    try {
      const slow = handler(
        new Request(
          "http://localhost/runs",
          json({ language: "python", code: "import time\ntime.sleep(1)" }),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      const rejected = await handler(
        new Request("http://localhost/runs", json({ language: "python", code: "print(1)" })),
      );
      expect(rejected.status).toBe(503);
      expect(rejected.headers.get("retry-after")).toBe("1");
      expect(Problem.parse(await rejected.json()).code).toBe("busy");
      expect((await (await slow).json()).status).toBe("succeeded");
    } finally {
      await handler.close();
    }
  });

  it("queues runs beyond the concurrency and reports them in /health", async () => {
    const handler = createHandler({ logger: false, maxConcurrent: 1, maxQueued: 2 });
    try {
      const runs = [1, 2, 3].map((n) =>
        handler(
          new Request(
            "http://localhost/runs",
            json({ language: "python", code: `import time\ntime.sleep(0.3)\nprint(${n})` }),
          ),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      const health = await handler.health();
      expect(health.capacity).toMatchObject({ running: 1, queued: 2 });
      expect(health.status).toBe("degraded");
      const results = await Promise.all(runs.map(async (r) => (await r).json()));
      expect(results.map((r) => r.stdout)).toEqual(["1\n", "2\n", "3\n"]);
    } finally {
      await handler.close();
    }
  });

  it("announces a queued streaming run with `started` only when it leaves the queue", async () => {
    const handler = createHandler({ logger: false, maxConcurrent: 1, maxQueued: 1 });
    try {
      const blocker = handler(
        new Request(
          "http://localhost/runs",
          json({ language: "python", code: "import time\ntime.sleep(0.8)" }),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      const queuedAt = performance.now();
      const response = await handler(
        new Request(
          "http://localhost/runs",
          json({ language: "python", code: "print('second')" }, { accept: "application/x-ndjson" }),
        ),
      );
      let startedAt = 0;
      const events = await readEvents(response, (event, at) => {
        if (event.type === "started") startedAt = at;
      });
      expect(events[0]?.type).toBe("started");
      expect(events.at(-1)?.type).toBe("exit");
      expect(startedAt - queuedAt).toBeGreaterThan(400);
      await blocker;
    } finally {
      await handler.close();
    }
  });

  it("answers 429 rate_limited with Retry-After per key", async () => {
    const handler = createHandler({
      logger: false,
      rateLimit: {
        limit: 2,
        windowMs: 60_000,
        key: (request) => request.headers.get("x-user") ?? "anon",
      },
    });
    try {
      const run = (user: string) =>
        handler(
          new Request(
            "http://localhost/runs",
            json({ language: "python", code: "print(1)" }, { "x-user": user }),
          ),
        );
      expect((await run("a")).status).toBe(200);
      expect((await run("a")).status).toBe(200);
      const limited = await run("a");
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(Problem.parse(await limited.json()).code).toBe("rate_limited");
      expect((await run("b")).status).toBe(200);
    } finally {
      await handler.close();
    }
  });

  it("lets the host's authorize hook answer 401 or 403", async () => {
    const handler = createHandler({
      logger: false,
      authorize: (request) => {
        const token = request.headers.get("authorization");
        if (!token) return { status: 401 };
        return token === "Bearer good";
      },
    });
    try {
      const health = (headers: Record<string, string>) =>
        handler(new Request("http://localhost/health", { headers }));
      expect((await health({})).status).toBe(401);
      expect((await health({ authorization: "Bearer bad" })).status).toBe(403);
      expect((await health({ authorization: "Bearer good" })).status).toBe(200);
    } finally {
      await handler.close();
    }
  });

  it("reports unavailable with 503 when no interpreter can run", async () => {
    const handler = createHandler({ logger: false, python: "/nonexistent/python3" });
    try {
      const response = await handler(new Request("http://localhost/health"));
      expect(response.status).toBe(503);
      expect(HealthResponse.parse(await response.json()).status).toBe("unavailable");
    } finally {
      await handler.close();
    }
  });

  it("close() ends running programs and refuses new runs", async () => {
    const handler = createHandler({ logger: false });
    const pending = handler(
      new Request(
        "http://localhost/runs",
        json({ language: "python", code: "import time\ntime.sleep(30)" }),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    await handler.close();
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await (await pending).json()).status).toBe("cancelled");
    const after = await handler(
      new Request("http://localhost/runs", json({ language: "python", code: "print(1)" })),
    );
    expect(after.status).toBe(503);
  });
});
