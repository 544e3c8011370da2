import { afterEach, describe, expect, it, vi } from "vitest";
import { createClient, isMechaError } from "../src";
import type { BrowserBackendOptions } from "../src/browser/browserBackendOptions";
import { createBrowserBackend } from "../src/browser/createBrowserBackend";
import { CONTROL, STDIN_EOF, STDIN_IDLE, STDIN_READY } from "../src/browser/workerProtocol";
import { jobPosted, request, setup } from "./fakeWorker";

/**
 * The page half of the browser backend against a scripted worker: loading, the run contract,
 * time limits, cancel with and without shared memory, stdin hand-over, and falling back.
 */

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("createBrowserBackend", () => {
  it("loads nothing until the first run, then runs it and reports like the server", async () => {
    const { backend, workers, start } = setup();
    expect(workers).toHaveLength(0);
    expect(backend.state).toBe("idle");

    const { run, events } = start({ ...request, stdin: "x\n" });
    expect(workers).toHaveLength(1);
    expect(backend.state).toBe("loading");
    const worker = workers[0]!;
    expect(worker.init).toMatchObject({
      indexURL: "https://app.example/pyodide/",
      shared: null,
      packages: [],
    });
    expect(worker.init.runner.source).toContain("def run(job_json, host)");
    expect(worker.init.runner.runError).toContain("def describe(exc, main_path)");

    worker.ready();
    const job = await jobPosted(worker);
    expect(backend.state).toBe("ready");
    expect(backend.runtime).toEqual({ pyodide: "314.0.7", python: "3.14.2", loadMs: 1234 });
    expect(job).toMatchObject({ code: "print(1)", stdin: "x\n", stdinMode: "closed" });

    worker.send({ type: "running", id: job.id });
    worker.send({ type: "output", id: job.id, stream: "stdout", data: "1\n" });
    worker.send({ type: "output", id: job.id, stream: "stderr", data: "warn\n" });
    worker.finish(job, { durationMs: 3.21 });
    const result = await run.result;
    expect(result).toEqual({
      id: job.id,
      language: "python",
      status: "succeeded",
      exitCode: 0,
      signal: null,
      stdout: "1\n",
      stderr: "warn\n",
      truncated: false,
      durationMs: 3.21,
      cpuTimeMs: null,
      memoryKb: null,
    });
    expect(events.map((event) => event.type)).toEqual(["started", "stdout", "stderr", "exit"]);
    expect(events.at(-1)).toEqual({ type: "exit", result });
  });

  it("ends a program at its time limit by replacing the worker when memory is not shared", async () => {
    const { workers, start, clock, backend } = setup();
    const { run } = start({ ...request, limits: { timeoutMs: 2_000 } });
    workers[0]!.ready();
    const job = await jobPosted(workers[0]!);
    workers[0]!.send({ type: "running", id: job.id });
    workers[0]!.send({ type: "output", id: job.id, stream: "stdout", data: "partial" });
    clock.advance(1_999);
    expect(workers[0]!.terminated).toBe(false);
    clock.advance(1);
    const result = await run.result;
    expect(result).toMatchObject({ status: "timed_out", exitCode: null, stdout: "partial" });
    expect(result.error).toBeUndefined();
    expect(workers[0]!.terminated).toBe(true);
    expect(backend.state).toBe("idle");

    // The next run loads a new worker.
    start();
    expect(workers).toHaveLength(2);
  });

  it("interrupts a program through shared memory when the page is isolated", async () => {
    const { workers, start, clock } = setup({ isolated: true, stopGraceMs: 500 });
    const { run } = start();
    const worker = workers[0]!;
    expect(worker.init.shared).not.toBeNull();
    worker.ready();
    const job = await jobPosted(worker);
    worker.send({ type: "running", id: job.id });
    await run.cancel();
    const control = new Int32Array(worker.init.shared!.control);
    expect(Atomics.load(control, CONTROL.STOP)).toBe(1);
    expect(new Uint8Array(worker.init.shared!.interrupt)[0]).toBe(2);
    worker.finish(job, { exitCode: null, stopped: true });
    expect(await run.result).toMatchObject({ status: "cancelled", exitCode: null });
    clock.advance(1_000);
    expect(worker.terminated).toBe(false);
  });

  it("terminates a program that ignores the interrupt after the grace period", async () => {
    const { workers, start, clock } = setup({ isolated: true, stopGraceMs: 500 });
    const { run } = start();
    workers[0]!.ready();
    workers[0]!.send({ type: "running", id: (await jobPosted(workers[0]!)).id });
    await run.cancel();
    clock.advance(499);
    expect(workers[0]!.terminated).toBe(false);
    clock.advance(1);
    expect(workers[0]!.terminated).toBe(true);
    expect((await run.result).status).toBe("cancelled");
  });

  it("hands stdin to a waiting program, then end of file", async () => {
    const { workers, start } = setup({ isolated: true });
    const { run, events } = start(request, { interactive: true });
    const worker = workers[0]!;
    worker.ready();
    const job = await jobPosted(worker);
    expect(job).toMatchObject({ stdinMode: "wait", notify: true });
    const control = new Int32Array(worker.init.shared!.control);
    const buffer = new Uint8Array(worker.init.shared!.stdin);

    worker.send({ type: "running", id: job.id });
    worker.send({ type: "input", id: job.id, prompt: "Name? " });
    expect(events.at(-1)).toEqual({ type: "input", prompt: "Name? " });
    await run.sendStdin("Ada 🐍\n");
    worker.send({ type: "stdin", id: job.id });
    expect(Atomics.load(control, CONTROL.STDIN)).toBe(STDIN_READY);
    const length = Atomics.load(control, CONTROL.LENGTH);
    expect(new TextDecoder().decode(buffer.slice(0, length))).toBe("Ada 🐍\n");

    worker.send({ type: "stdin", id: job.id });
    await run.sendStdin("", { eof: true });
    expect(Atomics.load(control, CONTROL.STDIN)).toBe(STDIN_EOF);
    worker.finish(job);
    expect((await run.result).status).toBe("succeeded");
  });

  it("reports a read that finds no stdin waiting as an input event without a prompt", async () => {
    const { workers, start } = setup({ isolated: true });
    const { run, events } = start(request, { interactive: true });
    const worker = workers[0]!;
    worker.ready();
    const job = await jobPosted(worker);
    const control = new Int32Array(worker.init.shared!.control);
    worker.send({ type: "running", id: job.id });

    // sys.stdin.readline() with nothing sent yet: the user is asked.
    worker.send({ type: "stdin", id: job.id, ask: true });
    expect(events.at(-1)).toEqual({ type: "input", prompt: "" });
    await run.sendStdin("one\n");
    expect(Atomics.load(control, CONTROL.STDIN)).toBe(STDIN_READY);
    const asked = events.length;

    // Input already sent is handed over at once: nobody is asked.
    Atomics.store(control, CONTROL.STDIN, STDIN_IDLE);
    await run.sendStdin("two\n");
    worker.send({ type: "stdin", id: job.id, ask: true });
    expect(Atomics.load(control, CONTROL.STDIN)).toBe(STDIN_READY);
    // A read input() made (it reported itself, with its prompt) is not reported again.
    Atomics.store(control, CONTROL.STDIN, STDIN_IDLE);
    worker.send({ type: "stdin", id: job.id });
    expect(events.length).toBe(asked);
    await run.sendStdin("", { eof: true });
    worker.finish(job);
    expect((await run.result).status).toBe("succeeded");
  });

  it("gives an interactive run without shared memory what was sent before it started", async () => {
    const { workers, start } = setup({ isolated: false });
    const { run } = start(request, { interactive: true });
    await run.sendStdin("Ada\n");
    workers[0]!.ready();
    expect(await jobPosted(workers[0]!)).toMatchObject({ stdin: "Ada\n", stdinMode: "closed" });
    expect(workers[0]!.jobs[0]!.eofMessage).toMatch(/cross-origin isolated/);
  });

  it("ends the run at the output cap", async () => {
    const { workers, start } = setup();
    const { run } = start();
    workers[0]!.ready();
    const job = await jobPosted(workers[0]!);
    workers[0]!.send({ type: "running", id: job.id });
    workers[0]!.send({ type: "output", id: job.id, stream: "stdout", data: "xxxx" });
    workers[0]!.send({ type: "limit", id: job.id });
    expect(await run.result).toMatchObject({
      status: "output_exceeded",
      truncated: true,
      stdout: "xxxx",
    });
  });

  it("runs one program at a time, in order", async () => {
    const { workers, start } = setup();
    const first = start();
    const second = start();
    const worker = workers[0]!;
    worker.ready();
    const firstJob = await jobPosted(worker);
    // The second waits for the first.
    expect(worker.jobs).toHaveLength(1);
    worker.finish(firstJob);
    await first.run.result;
    worker.finish(await jobPosted(worker, 2), { exitCode: 1 });
    expect((await second.run.result).status).toBe("failed");
  });

  it("drops a run cancelled while Python loads: nothing ran, so there is no result", async () => {
    const { workers, start } = setup();
    const { run, events } = start();
    await run.cancel();
    await expect(run.result).rejects.toSatisfy(
      (error: Error) =>
        isMechaError(error, "aborted") &&
        /before Python in the browser started it/.test(error.message),
    );
    expect(events).toEqual([]);
    workers[0]!.ready();
    // The next run is the worker's first job: the cancelled one never reached it.
    start();
    expect((await jobPosted(workers[0]!)).id).toBe("browser_2");
  });

  it("rejects with AbortedError when the caller's signal aborts", async () => {
    const { workers, start } = setup();
    const controller = new AbortController();
    const { run } = start(request, { signal: controller.signal });
    workers[0]!.ready();
    workers[0]!.send({ type: "running", id: (await jobPosted(workers[0]!)).id });
    controller.abort();
    await expect(run.result).rejects.toSatisfy((error) => isMechaError(error, "aborted"));
  });

  it("fails with a clear unavailable error when Python cannot be loaded, and tries again later", async () => {
    const { workers, start, backend } = setup();
    const { run } = start();
    workers[0]!.send({ type: "load-error", message: "Failed to fetch pyodide.mjs" });
    const error = await run.result.catch((caught: unknown) => caught);
    expect(isMechaError(error, "unavailable")).toBe(true);
    expect((error as Error).message).toMatch(
      /could not be loaded in the browser from https:\/\/app\.example\/pyodide\/: Failed to fetch pyodide\.mjs/,
    );
    expect(backend.state).toBe("failed");
    expect(workers[0]!.terminated).toBe(true);
    start();
    expect(workers).toHaveLength(2);
  });

  it("gives up loading after loadTimeoutMs", async () => {
    const { start, clock } = setup({ loadTimeoutMs: 5_000 });
    const { run } = start();
    clock.advance(5_000);
    await expect(run.result).rejects.toThrow(/did not finish loading within 5000 ms/);
  });

  it("reports a crash of the runtime mid-run as a failed run and replaces the worker", async () => {
    const { workers, start } = setup();
    const { run, events } = start();
    workers[0]!.ready();
    const job = await jobPosted(workers[0]!);
    workers[0]!.send({ type: "running", id: job.id });
    workers[0]!.finish(job, { exitCode: null, crashed: "RuntimeError: unreachable" });
    const result = await run.result;
    expect(result.status).toBe("failed");
    expect(result.stderr).toMatch(/Python in the browser stopped unexpectedly: RuntimeError/);
    expect(events.some((event) => event.type === "stderr")).toBe(true);
    expect(workers[0]!.terminated).toBe(true);
  });

  it("warms up at once, or when the page is idle", async () => {
    expect(setup({ warmUp: true }).workers).toHaveLength(1);
    const idle = vi.fn();
    vi.stubGlobal("requestIdleCallback", idle);
    const { workers } = setup({ warmUp: "idle" });
    expect(workers).toHaveLength(0);
    idle.mock.calls[0]![0]();
    expect(workers).toHaveLength(1);
  });

  it("says it is unavailable where there are no Web Workers", async () => {
    const backend = createBrowserBackend({ indexURL: "/pyodide/" });
    const run = backend.start(request, {
      signal: new AbortController().signal,
      interactive: false,
      onEvent: () => {},
    });
    await expect(run.result).rejects.toThrow(/needs Web Workers/);
  });

  it("needs an indexURL", () => {
    expect(() => createBrowserBackend({} as BrowserBackendOptions)).toThrow(/indexURL/);
  });

  it("is what the client falls back to when the server cannot be reached", async () => {
    const { backend, workers } = setup();
    const client = createClient({
      baseUrl: "http://127.0.0.1:9",
      fetch: async () => {
        throw new TypeError("fetch failed");
      },
      retry: { limit: 0 },
      fallback: ["browser", "mock"],
      browser: backend,
      onWarning: () => {},
    });
    const pending = client.run(request);
    await vi.waitFor(() => expect(workers).toHaveLength(1));
    workers[0]!.ready();
    await vi.waitFor(() => expect(workers[0]!.jobs).toHaveLength(1));
    const job = workers[0]!.jobs[0]!;
    workers[0]!.send({ type: "output", id: job.id, stream: "stdout", data: "1\n" });
    workers[0]!.finish(job);
    expect(await pending).toMatchObject({ backend: "browser", status: "succeeded", stdout: "1\n" });
    client.dispose();
  });
});
