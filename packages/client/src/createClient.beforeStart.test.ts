import { HttpResponse, http } from "msw";
import { describe, expect, it, vi } from "vitest";
import {
  fakeBrowser,
  healthDown,
  healthy,
  NDJSON,
  problemResponse,
  request,
  useClientHarness,
} from "../test/clientHarness";
import { BASE, controlledStream, healthBody, runResult } from "../test/fixtures";
import type { Backend, ClientRunEvent } from "./backend";

/** A run before its `started` event: connecting, retrying, or queued on the server. */
const { server, clock, count, countAnswered, makeClient } = useClientHarness();

describe("cancel() before the run has started", () => {
  it("drops a request the server has not answered, at once, as aborted (not a timeout)", async () => {
    let serverSaw: AbortSignal | undefined;
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, ({ request: req }) => {
        serverSaw = req.signal;
        return new Promise<Response>(() => {});
      }),
    );
    const handle = makeClient({ fallback: "mock" }).start(request);
    await vi.waitFor(() => expect(count("POST /runs")).toBe(1));
    await handle.cancel();
    // Settled without moving the clock: no timeout was involved.
    const error = await handle.result.catch((e) => e);
    expect(error).toMatchObject({ name: "AbortedError", code: "aborted" });
    expect(error.message).toMatch(/cancelled before the server started it/);
    // No fallback ran it either, and nothing was learned about the server.
    expect(handle.backend).toBe("server");
    expect(serverSaw?.aborted).toBe(true);
    expect(count("POST /runs/undefined/cancel")).toBe(0);
  });

  it("drops a run queued on the server (headers sent, no started yet)", async () => {
    const body = controlledStream();
    const fetch = async (input: Request | URL | string) =>
      String(input).endsWith("/health")
        ? Response.json(healthBody())
        : new Response(body.stream, { headers: NDJSON });
    const handle = makeClient({ fetch }).start(request);
    // The client reads the run's stream: the server has it queued.
    await vi.waitFor(() => expect(body.stream.locked).toBe(true));
    await handle.cancel();
    await expect(handle.result).rejects.toMatchObject({ code: "aborted" });
    // Closing the stream is what tells the server to cancel the queued run.
    await vi.waitFor(() => expect(body.cancelled).toBe(true));
  });

  it("stops waiting to retry a busy server", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => problemResponse("busy", 503, { "retry-after": "5" })),
    );
    const handle = makeClient().start(request);
    await vi.waitFor(() => expect(clock.pending()).toContain(5000));
    await handle.cancel();
    await expect(handle.result).rejects.toMatchObject({ code: "aborted" });
    // The retry's timer is gone, so moving the clock past it sends nothing.
    expect(clock.pending()).not.toContain(5000);
    clock.advance(10_000);
    expect(count("POST /runs")).toBe(1);
  });

  it("never starts the run on a browser backend that finishes loading afterwards", async () => {
    server.use(
      healthDown(),
      http.post(`${BASE}/runs`, () => HttpResponse.error()),
    );
    const { backend, starts } = fakeBrowser();
    let load!: (backend: Backend) => void;
    const loading = new Promise<Backend>((resolve) => {
      load = resolve;
    });
    const factory = vi.fn(() => loading);
    const handle = makeClient({ fallback: "browser", browser: factory, retry: { limit: 0 } }).start(
      request,
    );
    await vi.waitFor(() => expect(factory).toHaveBeenCalledTimes(1));
    const cancelling = handle.cancel();
    load(backend);
    await cancelling;
    await expect(handle.result).rejects.toMatchObject({ code: "aborted" });
    expect(starts).toEqual([]);
  });
});

describe("a run waiting in the server's queue", () => {
  it("is not timed out before started, however long the queue; the limit runs from started", async () => {
    const body = controlledStream();
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => new HttpResponse(body.stream, { headers: NDJSON })),
    );
    let settled = false;
    const result = makeClient({
      runTimeoutMarginMs: 500,
      timeoutMs: 3000,
      health: { intervalMs: 60_000 },
    }).run({ ...request, limits: { timeoutMs: 1000 } });
    result.finally(() => {
      settled = true;
    });
    // Headers arrive at once (the 3 s timeouts of the request and the first health check are
    // cleared); then the run waits in the queue far longer than its limit.
    await vi.waitFor(() => {
      expect(countAnswered("POST /runs")).toBe(1);
      expect(clock.pending()).toEqual([60_000]);
    });
    clock.advance(20_000);
    // Nothing was waiting to time the run out: only the next health check is pending.
    expect(clock.pending()).toEqual([40_000]);
    expect(settled).toBe(false);
    body.send({ type: "started", id: "queued" });
    await vi.waitFor(() => expect(clock.pending()).toContain(1500));
    clock.advance(1400);
    body.send({ type: "stdout", data: "done\n" });
    body.send({ type: "exit", result: runResult({ id: "queued", stdout: "done\n" }) });
    body.close();
    await expect(result).resolves.toMatchObject({ backend: "server", id: "queued" });
  });

  it("times out a run that keeps printing past its limit plus margin, counted from started", async () => {
    const body = controlledStream();
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => new HttpResponse(body.stream, { headers: NDJSON })),
      http.post(`${BASE}/runs/chatty/cancel`, () => new HttpResponse(null, { status: 202 })),
    );
    const events: ClientRunEvent[] = [];
    const result = makeClient({ runTimeoutMarginMs: 500 }).run(
      { ...request, limits: { timeoutMs: 1000 } },
      { onEvent: (event) => events.push(event) },
    );
    body.send({ type: "started", id: "chatty" });
    await vi.waitFor(() => expect(clock.pending()).toContain(1500));
    // Output every 400 ms, read before the clock moves on: the fourth step passes 1.5 s.
    for (let tick = 1; tick <= 4; tick++) {
      body.send({ type: "stdout", data: "tick\n" });
      await vi.waitFor(() => expect(events).toHaveLength(1 + tick));
      clock.advance(400);
    }
    await expect(result).rejects.toMatchObject({ name: "TimeoutError", code: "timeout" });
  });

  it("applies timeoutMs to the wait for the response headers", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => new Promise<Response>(() => {})),
    );
    const result = makeClient({ timeoutMs: 3000 }).run(request);
    await vi.waitFor(() => expect(count("POST /runs")).toBe(1));
    await vi.waitFor(() => expect(clock.pending()).toContain(3000));
    clock.advance(3000);
    const error = await result.catch((e) => e);
    expect(error).toMatchObject({ name: "TimeoutError", code: "timeout", attempts: 1 });
    expect(error.response).toBeUndefined();
    // Not retried: the server may have received the run.
    expect(count("POST /runs")).toBe(1);
  });
});
