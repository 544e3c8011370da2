import { HttpResponse, http } from "msw";
import { describe, expect, it, vi } from "vitest";
import {
  healthy,
  NDJSON,
  problemResponse,
  request,
  runOk,
  useClientHarness,
} from "../test/clientHarness";
import { BASE, controlledStream, healthBody, ndjson, runResult } from "../test/fixtures";
import type { ClientRunEvent } from "./backend";
import { MOCK_NOTICE } from "./mockBackend";

/** Runs stream as NDJSON: events as they come, stdin, cancel, aborts and broken streams. */
const { server, clock, count, makeClient } = useClientHarness();

describe("streaming", () => {
  it("delivers events while the program still runs, not after the response ends", async () => {
    const body = controlledStream();
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => new HttpResponse(body.stream, { headers: NDJSON })),
    );
    const events: ClientRunEvent[] = [];
    let settled = false;
    const result = makeClient().run(request, { onEvent: (event) => events.push(event) });
    result.finally(() => {
      settled = true;
    });
    body.send({ type: "started", id: "run_1" });
    body.send({ type: "stdout", data: "tick 1\n" });
    await vi.waitFor(() => expect(events).toHaveLength(2));
    expect(events[1]).toEqual({ type: "stdout", data: "tick 1\n" });
    body.send({ type: "stderr", data: "warn\n" });
    await vi.waitFor(() => expect(events).toHaveLength(3));
    expect(settled).toBe(false);
    const final = runResult({ stdout: "tick 1\n", stderr: "warn\n" });
    body.send({ type: "exit", result: final });
    body.close();
    await expect(result).resolves.toEqual({ ...final, backend: "server" });
    expect(events.map((event) => event.type)).toEqual(["started", "stdout", "stderr", "exit"]);
  });

  it("asks for a streamed run, with stdin closed for run() and open for start()", async () => {
    const bodies: unknown[] = [];
    const accepts: (string | null)[] = [];
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, async ({ request: req }) => {
        bodies.push(await req.json());
        accepts.push(req.headers.get("accept"));
        return runOk();
      }),
    );
    const client = makeClient();
    await client.run(request);
    await client.run({ ...request, stdin: "given\n" });
    await client.start(request).result;
    expect(accepts).toEqual(Array(3).fill("application/x-ndjson"));
    expect(bodies).toEqual([{ ...request, stdin: "" }, { ...request, stdin: "given\n" }, request]);
  });

  it("streams input prompts and feeds stdin to an interactive run", async () => {
    const body = controlledStream();
    const stdin: unknown[] = [];
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => new HttpResponse(body.stream, { headers: NDJSON })),
      http.post(`${BASE}/runs/:id/stdin`, async ({ request: req, params }) => {
        stdin.push({ id: params.id, body: await req.json() });
        return new HttpResponse(null, { status: 204 });
      }),
    );
    const handle = makeClient().start({
      language: "python",
      code: "print('Hi ' + input('Name? '))",
    });
    expect(handle.id).toBeUndefined();
    body.send({ type: "started", id: "run_7" });
    body.send({ type: "input", prompt: "Name? " });
    const iterator = handle.events[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toEqual({ type: "started", id: "run_7" });
    expect((await iterator.next()).value).toEqual({ type: "input", prompt: "Name? " });
    expect(handle.id).toBe("run_7");
    expect(handle.backend).toBe("server");
    await handle.sendStdin("Ada\n", { eof: true });
    expect(stdin).toEqual([{ id: "run_7", body: { data: "Ada\n", eof: true } }]);
    body.send({ type: "stdout", data: "Hi Ada\n" });
    body.send({ type: "exit", result: runResult({ id: "run_7", stdout: "Name? Hi Ada\n" }) });
    body.close();
    expect((await iterator.next()).value).toEqual({ type: "stdout", data: "Hi Ada\n" });
    expect((await iterator.next()).value).toMatchObject({ type: "exit" });
    expect((await iterator.next()).done).toBe(true);
    await expect(handle.result).resolves.toMatchObject({ id: "run_7", backend: "server" });
  });

  it("cancel() asks the server to end the run and resolves with its cancelled result", async () => {
    const body = controlledStream();
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => new HttpResponse(body.stream, { headers: NDJSON })),
      http.post(`${BASE}/runs/run_3/cancel`, () => {
        body.send({
          type: "exit",
          result: runResult({
            id: "run_3",
            status: "cancelled",
            exitCode: null,
            signal: "SIGKILL",
          }),
        });
        body.close();
        return HttpResponse.json({ id: "run_3", status: "cancelling" }, { status: 202 });
      }),
    );
    const handle = makeClient().start(request);
    body.send({ type: "started", id: "run_3" });
    await vi.waitFor(() => expect(handle.id).toBe("run_3"));
    await handle.cancel();
    await expect(handle.result).resolves.toMatchObject({ status: "cancelled", backend: "server" });
    expect(count("POST /runs/run_3/cancel")).toBe(1);
    await handle.cancel();
    expect(count("POST /runs/run_3/cancel")).toBe(1);
  });

  it("a stdin call to a finished run rejects with the server's run_finished problem", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => runOk()),
      http.post(`${BASE}/runs/run_1/stdin`, () => problemResponse("run_finished", 409)),
    );
    const handle = makeClient().start(request);
    await handle.result;
    const error = await handle.sendStdin("late\n").catch((e) => e);
    expect(error).toMatchObject({ code: "http", status: 409, attempts: 1 });
    expect(error.problem.code).toBe("run_finished");
  });

  it("aborting the signal cancels the run on the server, closes the stream and rejects aborted", async () => {
    const body = controlledStream();
    const cancels: string[] = [];
    // A plain Response (not msw's copy), so cancelling the body reaches the server's stream.
    const fetch = async (input: Request | URL | string) => {
      const url = String(input);
      if (url.endsWith("/health")) return Response.json(healthBody());
      if (url.endsWith("/cancel")) {
        cancels.push(url);
        return Response.json({}, { status: 202 });
      }
      return new Response(body.stream, { headers: NDJSON });
    };
    const controller = new AbortController();
    const events: ClientRunEvent[] = [];
    const client = makeClient({ fallback: "mock", fetch });
    const result = client.run(request, {
      signal: controller.signal,
      onEvent: (event) => events.push(event),
    });
    body.send({ type: "started", id: "run_5" });
    await vi.waitFor(() => expect(events).toHaveLength(1));
    controller.abort();
    const error = await result.catch((e) => e);
    expect(error).toMatchObject({ name: "AbortedError", code: "aborted" });
    await vi.waitFor(() => expect(cancels).toEqual([`${BASE}/runs/run_5/cancel`]));
    expect(body.cancelled).toBe(true);
    // An abort is the caller's choice: no fallback, and nothing learned about the server.
    expect(events).toHaveLength(1);
    expect(client.status).not.toBe("degraded");
  });

  it("aborting before the server answers rejects aborted", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => new Promise<Response>(() => {})),
    );
    const controller = new AbortController();
    const result = makeClient().run(request, { signal: controller.signal });
    await vi.waitFor(() => expect(count("POST /runs")).toBe(1));
    controller.abort(new Error("user left"));
    const error = await result.catch((e) => e);
    expect(error).toMatchObject({ code: "aborted" });
  });

  it("an already aborted signal never reaches the server", async () => {
    server.use(healthy());
    const controller = new AbortController();
    controller.abort();
    await expect(makeClient().run(request, { signal: controller.signal })).rejects.toMatchObject({
      code: "aborted",
    });
    expect(count("POST /runs")).toBe(0);
  });

  it("a stream that ends without exit is a network error (the server died mid-run)", async () => {
    server.use(
      healthy(),
      http.post(
        `${BASE}/runs`,
        () =>
          new HttpResponse(
            ndjson([
              { type: "started", id: "r" },
              { type: "stdout", data: "part" },
            ]),
            {
              headers: NDJSON,
            },
          ),
      ),
    );
    const client = makeClient();
    const error = await client.run(request).catch((e) => e);
    expect(error).toMatchObject({ name: "NetworkError", code: "network" });
    expect(error.message).toMatch(/before the run ended/);
    expect(client.status).not.toBe("online");
    // Not retried: the run may have executed.
    expect(count("POST /runs")).toBe(1);
  });

  it("a connection reset mid-stream is a network error", async () => {
    const body = controlledStream();
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => new HttpResponse(body.stream, { headers: NDJSON })),
    );
    const events: ClientRunEvent[] = [];
    const result = makeClient().run(request, { onEvent: (event) => events.push(event) });
    body.send({ type: "started", id: "r" });
    await vi.waitFor(() => expect(events).toEqual([{ type: "started", id: "r" }]));
    body.error(new TypeError("terminated"));
    await expect(result).rejects.toMatchObject({ code: "network" });
  });

  it("run() falls back after the server died mid-run, and says so", async () => {
    server.use(
      healthy(),
      http.post(
        `${BASE}/runs`,
        () => new HttpResponse(ndjson([{ type: "started", id: "r" }]), { headers: NDJSON }),
      ),
    );
    const events: ClientRunEvent[] = [];
    const result = await makeClient({ fallback: "mock" }).run(request, {
      onEvent: (event) => events.push(event),
    });
    expect(result).toMatchObject({ backend: "mock", stdout: `${MOCK_NOTICE}hi\n` });
    expect(events.map((event) => event.type)).toEqual(["started", "started", "stdout", "exit"]);
  });

  it("start() does not silently re-run elsewhere once its events reached the caller", async () => {
    server.use(
      healthy(),
      http.post(
        `${BASE}/runs`,
        () => new HttpResponse(ndjson([{ type: "started", id: "r" }]), { headers: NDJSON }),
      ),
    );
    const handle = makeClient({ fallback: "mock" }).start(request);
    await expect(handle.result).rejects.toMatchObject({ code: "network" });
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const event of handle.events) seen.push(event.type);
      })(),
    ).rejects.toMatchObject({ code: "network" });
    expect(seen).toEqual(["started"]);
  });

  it("gives up on a run that stays silent past its limit plus margin, and cancels it", async () => {
    const body = controlledStream();
    let cancels = 0;
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => new HttpResponse(body.stream, { headers: NDJSON })),
      http.post(`${BASE}/runs/slow/cancel`, () => {
        cancels++;
        return HttpResponse.json({}, { status: 202 });
      }),
    );
    const client = makeClient({ runTimeoutMarginMs: 500 });
    const result = client.run({ ...request, limits: { timeoutMs: 1000 } });
    body.send({ type: "started", id: "slow" });
    await vi.waitFor(() => expect(clock.pending()).toContain(1500));
    clock.advance(1499);
    // The watchdog has not fired: it is 1 ms away.
    expect(clock.pending()).toContain(1);
    clock.advance(1);
    const error = await result.catch((e) => e);
    expect(error).toMatchObject({ name: "TimeoutError", code: "timeout" });
    await vi.waitFor(() => expect(cancels).toBe(1));
  });

  it("holds a run to the time limit the server says in `started`, not the one it assumed", async () => {
    const body = controlledStream();
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => new HttpResponse(body.stream, { headers: NDJSON })),
      http.post(`${BASE}/runs/long/cancel`, () => HttpResponse.json({}, { status: 202 })),
    );
    // No limit asked for: the server's default is longer than the client's assumed 60 s.
    const result = makeClient({ runTimeoutMarginMs: 500 }).run(request);
    body.send({
      type: "started",
      id: "long",
      limits: { timeoutMs: 120_000, memoryMb: 256, outputBytes: 1 << 20 },
    });
    await vi.waitFor(() => expect(clock.pending()).toContain(120_500));
    expect(clock.pending()).not.toContain(60_500);
    clock.advance(120_499);
    body.send({ type: "stdout", data: "still going\n" });
    const final = runResult({ stdout: "still going\n" });
    body.send({ type: "exit", result: final });
    body.close();
    await expect(result).resolves.toEqual({ ...final, backend: "server" });
  });
});
