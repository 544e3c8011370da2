import { createServer } from "node:http";
import { ExecuteResponse, HealthResponse, RunResult } from "@mecha/protocol";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHandler } from "../src/createHandler";
import { toNodeListener } from "../src/node";
import {
  closeServer,
  expectProblem,
  json,
  listen,
  readEvents,
  TARGETS,
  type Target,
} from "./conformance/targets";

/**
 * Protocol v1 with real Python behind every way a host can mount the handler (see
 * conformance/targets.ts). Admission, queueing and disconnects, where only timing would show
 * them with real programs, are in admission.test.ts on a runtime the test drives.
 */

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
  /** `POST /runs` of `code`, answered as a stream of events. */
  const streamRun = (code: string) =>
    post("/runs", { language: "python", code }, { accept: "application/x-ndjson" });

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
    // The program waits for a line of input after each output: a line arriving before we send
    // that input is a line streamed while the program still runs.
    const response = await streamRun(
      "import sys\nprint('one')\nsys.stdin.readline()\nprint('two', file=sys.stderr)\nsys.stdin.readline()\nprint('three')",
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/x-ndjson");
    let id = "";
    let released = 0;
    const events = await readEvents(response, async (event) => {
      if (event.type === "started") id = event.id;
      if ((event.type === "stdout" || event.type === "stderr") && event.data.includes("\n")) {
        if (released < 2) {
          released++;
          expect((await post(`/runs/${id}/stdin`, { data: "go\n" })).status).toBe(204);
        }
      }
    });
    expect(released).toBe(2);
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
  });

  it("takes input() interactively over POST /runs/{id}/stdin", async () => {
    const response = await streamRun(
      "name = input('Your name? ')\nprint('Hello, ' + name + '!')\ncolour = input('Colour? ')\nprint(colour.upper())",
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

  it("asks for input when the program reads sys.stdin and nothing has come yet", async () => {
    const response = await streamRun(
      "import sys\nfirst = sys.stdin.readline()\nprint('got', first.strip(), flush=True)\nfor line in sys.stdin:\n    print('then', line.strip(), flush=True)\nprint(sys.stdin.buffer.read())",
    );
    let id = "";
    const answers = [{ data: "one\n" }, { data: "two\n" }, { data: "three\n", eof: true }];
    const events = await readEvents(response, async (event) => {
      if (event.type === "started") id = event.id;
      if (event.type === "input") {
        const answer = answers.shift();
        expect(answer).toBeDefined();
        expect((await post(`/runs/${id}/stdin`, answer)).status).toBe(204);
      }
    });
    // One `input` event, with no prompt, before each answer; none once stdin is closed.
    expect(answers).toEqual([]);
    const asked = events.filter((e) => e.type === "input");
    expect(asked).toHaveLength(3);
    for (const event of asked) expect(event).toMatchObject({ prompt: "" });
    const exit = events.at(-1)!;
    expect(exit.type).toBe("exit");
    if (exit.type === "exit") {
      expect(exit.result.status).toBe("succeeded");
      expect(exit.result.stdout).toBe("got one\nthen two\nthen three\nb''\n");
    }
  });

  it("sends one input event for input(), and none for a read that has its input", async () => {
    const response = await streamRun(
      "import sys\nname = input('Name? ')\nprint('hi', name, flush=True)\nprint(repr(sys.stdin.read()))",
    );
    let id = "";
    const events = await readEvents(response, async (event) => {
      if (event.type === "started") id = event.id;
      if (event.type === "input") {
        // Everything at once: input() has its line, and read() finds the rest waiting.
        const reply = await post(`/runs/${id}/stdin`, { data: "Ada\nrest\n", eof: true });
        expect(reply.status).toBe(204);
      }
    });
    expect(events.filter((e) => e.type === "input")).toEqual([
      expect.objectContaining({ prompt: "Name? " }),
    ]);
    const exit = events.at(-1)!;
    if (exit.type === "exit") expect(exit.result.stdout).toBe("Name? hi Ada\n'rest\\n'\n");
  });

  it("sends one input event per wait: reads that return at once do not flood the stream", async () => {
    // Reads of nothing return at once, and so does input() on a non-blocking stdin: the
    // program loops, asking again and again with no input written in between.
    const code = [
      "import os, sys",
      "raw = sys.stdin.buffer.raw",
      "for _ in range(20000):",
      "    raw.readinto(bytearray(0))",
      "    raw.read(0)",
      "os.set_blocking(0, False)",
      "for _ in range(20000):",
      "    try:",
      "        input()",
      "    except Exception:",
      "        pass",
      "print('done')",
    ].join("\n");
    const response = await streamRun(code);
    const events = await readEvents(response, async () => {});
    expect(events.filter((e) => e.type === "input").length).toBeLessThanOrEqual(1);
    const exit = events.at(-1)!;
    expect(exit.type).toBe("exit");
    if (exit.type === "exit") expect(exit.result.stdout).toBe("done\n");
  });

  it("keeps an interactive run's sys.stdin as CPython's, whatever the program does with it", async () => {
    const code = [
      "import _thread, io, sys, time",
      // The input() caller's locals are freed when it returns, its file closed and flushed.
      "def save():",
      "    f = open('saved.txt', 'w')",
      "    f.write('data')",
      "    return input('? ')",
      "save()",
      "print(repr(open('saved.txt').read()), flush=True)",
      // A read called with no Python frame below it: a thread started on the read itself.
      "_thread.start_new_thread(sys.stdin.readline, ())",
      "while not _thread._count():",
      "    time.sleep(0.001)",
      "print('thread started', flush=True)",
      "while _thread._count():",
      "    time.sleep(0.001)",
      // Rebinding sys.stdin to a wrapper of its buffer, as programs do for another encoding.
      "sys.stdin = io.TextIOWrapper(sys.stdin.buffer, encoding='latin-1')",
      "print(repr(sys.stdin.readline()), sys.stdin.encoding)",
      "print(sys.__stdin__.buffer.raw.fileno(), sys.__stdin__.isatty(), sys.__stdin__.name)",
    ].join("\n");
    const response = await streamRun(code);
    let id = "";
    const asked: string[] = [];
    // The thread's line is sent once the program has seen its thread start (and so will see it end).
    let threadStarted = false;
    const send = async (data: string) =>
      expect((await post(`/runs/${id}/stdin`, { data })).status).toBe(204);
    const events = await readEvents(response, async (event) => {
      if (event.type === "started") id = event.id;
      if (event.type === "stdout" && event.data.includes("thread started")) threadStarted = true;
      if (event.type === "input") asked.push(event.prompt);
      if (event.type === "input" && event.prompt === "? ") await send("a\n");
      if (asked.length === 2 && threadStarted && !asked.includes("b")) {
        asked.push("b");
        await send("b\n");
      }
      if (event.type === "input" && asked.length === 4) await send("caf\u00e9\n");
    });
    expect(asked).toEqual(["? ", "", "b", ""]);
    const exit = events.at(-1)!;
    expect(exit.type).toBe("exit");
    if (exit.type === "exit") {
      expect(exit.result.stderr).toBe("");
      expect(exit.result.stdout).toBe(
        "? 'data'\nthread started\n'caf\u00c3\u00a9\\n' latin-1\n0 False <stdin>\n",
      );
    }
  });

  it("sends no input event once stdin is closed: nothing could answer it", async () => {
    const response = await streamRun(
      "import sys\nprint(repr(sys.stdin.read()), flush=True)\ninput('again? ')",
    );
    const events = await readEvents(response, async (event) => {
      if (event.type === "started")
        expect((await post(`/runs/${event.id}/stdin`, { data: "", eof: true })).status).toBe(204);
    });
    expect(events.filter((e) => e.type === "input" && e.prompt === "again? ")).toEqual([]);
    const exit = events.at(-1)!;
    expect(exit.type).toBe("exit");
    if (exit.type === "exit") {
      expect(exit.result.stdout).toBe("''\nagain? ");
      expect(exit.result.error?.type).toBe("EOFError");
    }
  });

  it("closes stdin on eof, so the program sees end of input", async () => {
    const response = await streamRun("import sys\nprint(repr(sys.stdin.read()))");
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
    const response = await streamRun("import sys\nprint('working', flush=True)\nsys.stdin.read()");
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

describe("a host without Python", () => {
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
});
