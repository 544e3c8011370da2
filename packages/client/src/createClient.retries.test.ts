import { HttpResponse, http } from "msw";
import { describe, expect, it, vi } from "vitest";
import { healthy, problemResponse, request, runOk, useClientHarness } from "../test/clientHarness";
import { BASE } from "../test/fixtures";
import { isMechaError } from "./errors/isMechaError";

/** Retries: only where the run cannot have executed, with backoff and Retry-After. */
const { server, clock, count, makeClient, drive } = useClientHarness();

describe("retries", () => {
  it("retries a refused connection with exponential backoff and jitter, then succeeds", async () => {
    let attempts = 0;
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => (++attempts < 3 ? HttpResponse.error() : runOk())),
    );
    const client = makeClient();
    const result = client.run(request);
    // base 300 ms, random 0.5: 300 × (½ + ½·0.5) = 225 ms, then 450 ms.
    await vi.waitFor(() => expect(clock.pending()).toContain(225));
    clock.advance(224);
    // The retry still waits on its timer, 1 ms away: nothing can have sent it.
    expect(clock.pending()).toContain(1);
    expect(attempts).toBe(1);
    clock.advance(1);
    await vi.waitFor(() => expect(attempts).toBe(2));
    await vi.waitFor(() => expect(clock.pending()).toContain(450));
    clock.advance(449);
    expect(clock.pending()).toContain(1);
    expect(attempts).toBe(2);
    clock.advance(1);
    await expect(result).resolves.toMatchObject({ backend: "server", stdout: "hi\n" });
    expect(attempts).toBe(3);
  });

  it("gives up after retry.limit retries with a typed network error", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => HttpResponse.error()),
    );
    const client = makeClient({ retry: { limit: 2 } });
    const error = await drive(client.run(request)).catch((e) => e);
    expect(isMechaError(error, "network")).toBe(true);
    expect(error).toMatchObject({
      name: "NetworkError",
      attempts: 3,
      request: { method: "POST", url: `${BASE}/runs` },
    });
    expect(count("POST /runs")).toBe(3);
  });

  it("honours Retry-After in seconds on 429", async () => {
    let attempts = 0;
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () =>
        ++attempts === 1 ? problemResponse("rate_limited", 429, { "retry-after": "2" }) : runOk(),
      ),
    );
    const client = makeClient();
    const result = client.run(request);
    await vi.waitFor(() => expect(clock.pending()).toContain(2000));
    clock.advance(1999);
    expect(clock.pending()).toContain(1);
    expect(attempts).toBe(1);
    clock.advance(1);
    await expect(result).resolves.toMatchObject({ backend: "server" });
    expect(attempts).toBe(2);
  });

  it("honours Retry-After as an HTTP date against the injected clock", async () => {
    let attempts = 0;
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () =>
        ++attempts === 1
          ? problemResponse("busy", 503, {
              "retry-after": new Date(clock.now() + 3000).toUTCString(),
            })
          : runOk(),
      ),
    );
    const client = makeClient();
    const result = client.run(request);
    await vi.waitFor(() => expect(clock.pending()).toContain(3000));
    clock.advance(3000);
    await expect(result).resolves.toMatchObject({ backend: "server" });
    expect(attempts).toBe(2);
  });

  it("retries 503 busy and reports busy when it stays full", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => problemResponse("busy", 503, { "retry-after": "1" })),
    );
    const client = makeClient();
    const error = await drive(client.run(request)).catch((e) => e);
    expect(error).toMatchObject({ name: "BusyError", code: "busy", attempts: 3, status: 503 });
    expect(error.problem.code).toBe("busy");
    expect(error.retryAfterMs).toBe(1000);
    expect(count("POST /runs")).toBe(3);
    // A full server is not a broken one.
    expect(client.status).toBe("online");
  });

  it("does not wait for a Retry-After longer than retry.maxMs", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () =>
        problemResponse("rate_limited", 429, { "retry-after": "60" }),
      ),
    );
    const client = makeClient({ retry: { maxMs: 5000 } });
    const error = await client.run(request).catch((e) => e);
    expect(error).toMatchObject({ code: "rate_limited", attempts: 1, retryAfterMs: 60_000 });
    expect(count("POST /runs")).toBe(1);
  });

  it.each([502, 504])(
    "never retries a %i on POST /runs (a proxy may have let it run)",
    async (status) => {
      server.use(
        healthy(),
        http.post(`${BASE}/runs`, () => new HttpResponse("<html>bad gateway</html>", { status })),
      );
      const client = makeClient();
      const error = await client.run(request).catch((e) => e);
      expect(error).toMatchObject({ name: "HttpError", code: "http", status, attempts: 1 });
      expect(error.problem).toBeUndefined();
      expect(count("POST /runs")).toBe(1);
      // And no retry is waiting on the clock (the first backoff would be 225 ms).
      expect(clock.scheduled().map((timer) => timer.delay)).not.toContain(225);
    },
  );

  it("does not retry 503 unavailable on a run", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => problemResponse("unavailable", 503, { "retry-after": "5" })),
    );
    const client = makeClient();
    const error = await client.run(request).catch((e) => e);
    expect(error).toMatchObject({ code: "unavailable", attempts: 1 });
    expect(count("POST /runs")).toBe(1);
  });

  it("carries the server's problem code and never falls back on a 4xx", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => problemResponse("unauthorized", 401)),
    );
    const client = makeClient({ fallback: "mock" });
    const error = await client.run(request).catch((e) => e);
    expect(error).toMatchObject({ code: "http", status: 401, attempts: 1 });
    expect(error.problem).toMatchObject({ code: "unauthorized", detail: "detail of unauthorized" });
    expect(count("POST /runs")).toBe(1);
  });
});
