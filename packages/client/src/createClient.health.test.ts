import { HttpResponse, http } from "msw";
import { describe, expect, it, vi } from "vitest";
import {
  healthDown,
  healthy,
  NDJSON,
  problemResponse,
  request,
  runOk,
  useClientHarness,
} from "../test/clientHarness";
import { BASE, healthBody, ndjson, runResult } from "../test/fixtures";
import type { ClientState } from "./circuit";
import { MOCK_NOTICE } from "./mockBackend";

/** Health checks, the status the client reports, and the circuit breaker. */
const { server, clock, requests, count, makeClient, nextTimer, healthSettled, drive } =
  useClientHarness();

describe("health, status and the circuit", () => {
  it("goes from unknown to online on the first check and notifies subscribers", async () => {
    server.use(healthy());
    const client = makeClient();
    const states: ClientState[] = [];
    client.subscribe((state) => states.push(state));
    await vi.waitFor(() => expect(client.status).toBe("online"));
    expect(count("GET /health")).toBe(1);
    expect(client.health).toEqual(healthBody());
    expect(states.at(-1)).toMatchObject({ status: "online", circuit: "closed", failures: 0 });
  });

  it("reports degraded when the server says so", async () => {
    server.use(healthy("degraded"));
    const client = makeClient();
    await expect(client.checkHealth()).resolves.toMatchObject({ status: "degraded" });
    expect(client.status).toBe("degraded");
  });

  it("checks every intervalMs while online", async () => {
    server.use(healthy());
    const client = makeClient({ health: { intervalMs: 10_000 }, timeoutMs: 999 });
    client.subscribe(() => {});
    await vi.waitFor(() => expect(client.status).toBe("online"));
    await vi.waitFor(() => expect(clock.pending()).toEqual([10_000]));
    clock.advance(9_999);
    // The next check waits on its timer, 1 ms away.
    expect(clock.pending()).toEqual([1]);
    expect(count("GET /health")).toBe(1);
    clock.advance(1);
    await vi.waitFor(() => expect(count("GET /health")).toBe(2));
    await vi.waitFor(() => expect(clock.pending()).toEqual([10_000]));
  });

  it("opens after 3 failures and backs off 2 s → 30 s while offline", async () => {
    server.use(healthDown());
    const client = makeClient({ timeoutMs: 999 });
    const delays: number[] = [];
    client.subscribe(() => {});
    for (let check = 1; check <= 9; check++) {
      // Wait for the check to settle: only the next poll is pending, not its 999 ms timeout.
      await vi.waitFor(() => {
        expect(count("GET /health")).toBe(check);
        expect(clock.pending()).toHaveLength(1);
        expect(clock.pending()).not.toContain(999);
      });
      const delay = clock.pending()[0]!;
      delays.push(delay);
      clock.advance(delay);
    }
    expect(delays).toEqual([2000, 2000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    expect(client.status).toBe("offline");
  });

  it("stays unknown, never degraded, while a server it never reached fails; then offline", async () => {
    server.use(healthDown());
    const client = makeClient({ timeoutMs: 999 });
    const statuses: string[] = [];
    client.subscribe((state) => statuses.push(state.status));
    for (let check = 1; check <= 3; check++) {
      await vi.waitFor(() => {
        expect(count("GET /health")).toBe(check);
        expect(client.error).not.toBeNull();
        expect(clock.pending()).toHaveLength(1);
        expect(clock.pending()).not.toContain(999);
      });
      if (check < 3) expect(client.status).toBe("unknown");
      clock.advance(clock.pending()[0]!);
    }
    await vi.waitFor(() => expect(client.status).toBe("offline"));
    expect(new Set(statuses)).toEqual(new Set(["unknown", "offline"]));
    expect(client.error).toMatchObject({ kind: "unreachable" });
    expect(client.error?.message).toMatch(/^Nothing answered at http:.*\/health/);
  });

  it("says the browser blocked a cross-origin answer (CORS), not that the server is offline", async () => {
    vi.stubGlobal("location", { origin: "http://localhost:5173" });
    try {
      const modes: (string | undefined)[] = [];
      const fetch = vi.fn(async (_url: Request | URL | string, init?: RequestInit) => {
        modes.push(init?.mode);
        // What a browser does: the CORS request fails opaquely, the no-cors one gets through.
        if (init?.mode !== "no-cors") throw new TypeError("Failed to fetch");
        return new Response(null);
      });
      const client = makeClient({ fetch, baseUrl: "http://127.0.0.1:5000" });
      await expect(client.checkHealth()).rejects.toMatchObject({ code: "network" });
      expect(modes).toEqual([undefined, "no-cors"]);
      expect(client.status).toBe("unknown");
      expect(client.error).toMatchObject({ kind: "cors" });
      expect(client.error?.message).toContain("http://localhost:5173");
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it("clears the reason once a health check succeeds", async () => {
    let up = false;
    server.use(
      http.get(`${BASE}/health`, () =>
        up ? HttpResponse.json(healthBody()) : HttpResponse.error(),
      ),
    );
    const client = makeClient();
    await client.checkHealth().catch(() => {});
    expect(client.error).toMatchObject({ kind: "unreachable" });
    up = true;
    await client.checkHealth();
    expect(client).toMatchObject({ status: "online", error: null });
  });

  it("half-opens to probe /health and closes on a successful probe", async () => {
    let up = false;
    let releaseProbe: (() => void) | undefined;
    server.use(
      http.get(`${BASE}/health`, async () => {
        if (!up) return HttpResponse.error();
        await new Promise<void>((resolve) => {
          releaseProbe = resolve;
        });
        return HttpResponse.json(healthBody());
      }),
    );
    const client = makeClient();
    const states: ClientState[] = [];
    client.subscribe((state) => states.push(state));
    await drive(
      new Promise<void>((resolve) => {
        const stop = client.subscribe(() => {
          if (client.status === "offline") {
            stop();
            resolve();
          }
        });
      }),
    );
    await vi.waitFor(() => expect(clock.pending()).toHaveLength(1));
    up = true;
    clock.advance(clock.pending()[0]!);
    await vi.waitFor(() => expect(releaseProbe).toBeDefined());
    expect(states.at(-1)).toMatchObject({ status: "offline", circuit: "half_open" });
    releaseProbe!();
    await vi.waitFor(() => expect(client.status).toBe("online"));
    expect(states.at(-1)).toMatchObject({ circuit: "closed", failures: 0 });
  });

  it("skips the server while offline, falls back to the mock, and returns once healthy", async () => {
    let up = false;
    server.use(
      http.get(`${BASE}/health`, () =>
        up ? HttpResponse.json(healthBody()) : HttpResponse.error(),
      ),
      http.post(`${BASE}/runs`, () => (up ? runOk("from server\n") : HttpResponse.error())),
    );
    const client = makeClient({ fallback: "mock" });
    const first = await drive(client.run(request));
    expect(first).toMatchObject({ backend: "mock" });
    expect(first.stdout.startsWith(MOCK_NOTICE)).toBe(true);
    await drive(
      new Promise<void>((resolve) => {
        const stop = client.subscribe(() => {
          if (client.status === "offline") {
            stop();
            resolve();
          }
        });
        if (client.status === "offline") resolve();
      }),
    );
    const before = count("POST /runs");
    const offline = await client.run(request);
    expect(offline.backend).toBe("mock");
    expect(count("POST /runs")).toBe(before);

    up = true;
    clock.advance(await vi.waitFor(nextTimer));
    // Healthy again; the first run failed on the server, so not online until one completes.
    await vi.waitFor(() => expect(client.status).toBe("degraded"));
    const back = await client.run(request);
    expect(back).toMatchObject({ backend: "server", stdout: "from server\n" });
    expect(client.status).toBe("online");
  });

  it('with fallback "none" the server is still tried while offline', async () => {
    server.use(
      healthDown(),
      http.post(`${BASE}/runs`, () => HttpResponse.error()),
    );
    const client = makeClient({ retry: { limit: 0 } });
    client.subscribe(() => {});
    await drive(
      new Promise<void>((resolve) => {
        client.subscribe(() => client.status === "offline" && resolve());
      }),
    );
    await expect(client.run(request)).rejects.toMatchObject({ code: "network" });
    expect(count("POST /runs")).toBe(1);
  });

  it("goes offline at once when /health says unavailable (503 with a health body)", async () => {
    server.use(
      http.get(`${BASE}/health`, () =>
        HttpResponse.json(healthBody("unavailable"), { status: 503 }),
      ),
    );
    const client = makeClient();
    await expect(client.checkHealth()).resolves.toMatchObject({ status: "unavailable" });
    expect(client.status).toBe("offline");
    expect(client.health?.status).toBe("unavailable");
  });

  it("a failed run triggers a health check at once", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => problemResponse("internal", 500)),
    );
    const client = makeClient();
    await client.checkHealth();
    await vi.waitFor(() => expect(clock.pending()).toContain(10_000));
    await client.run(request).catch(() => {});
    await vi.waitFor(() => expect(count("GET /health")).toBe(2));
  });

  it("times out a health check after timeoutMs", async () => {
    server.use(http.get(`${BASE}/health`, () => new Promise<Response>(() => {})));
    const client = makeClient({ timeoutMs: 3000 });
    const check = client.checkHealth();
    await vi.waitFor(() => expect(clock.pending()).toContain(3000));
    clock.advance(3000);
    await expect(check).rejects.toMatchObject({
      name: "TimeoutError",
      code: "timeout",
      attempts: 1,
    });
  });

  it("sends headers from an async function with every request", async () => {
    const seen: (string | null)[] = [];
    let calls = 0;
    server.use(
      http.get(`${BASE}/health`, ({ request: req }) => {
        seen.push(req.headers.get("authorization"));
        return HttpResponse.json(healthBody());
      }),
      http.post(`${BASE}/runs`, ({ request: req }) => {
        seen.push(req.headers.get("authorization"));
        return runOk();
      }),
    );
    const client = makeClient({
      headers: async () => ({ authorization: `Bearer token-${++calls}` }),
    });
    await client.checkHealth();
    await client.run(request);
    expect(seen).toEqual(["Bearer token-1", "Bearer token-2"]);
  });

  it("uses an injected fetch", async () => {
    const fetch = vi.fn(async (input: Request | URL | string) =>
      String(input).endsWith("/health")
        ? Response.json(healthBody())
        : new Response(
            ndjson([
              { type: "started", id: "f" },
              { type: "exit", result: runResult({ id: "f" }) },
            ]),
            {
              headers: NDJSON,
            },
          ),
    );
    const client = makeClient({ fetch, baseUrl: "https://elsewhere.test/api/mecha/" });
    await expect(client.run(request)).resolves.toMatchObject({ id: "f", backend: "server" });
    expect(fetch.mock.calls.map(([url]) => String(url))).toContain(
      "https://elsewhere.test/api/mecha/runs",
    );
    expect(requests).toEqual([]);
  });

  it("dispose() stops polling, drops listeners and rejects later runs", async () => {
    server.use(healthy());
    const client = makeClient({ timeoutMs: 999 });
    const listener = vi.fn();
    client.subscribe(listener);
    await vi.waitFor(() => expect(client.status).toBe("online"));
    await vi.waitFor(() => expect(clock.pending()).toEqual([10_000]));
    client.dispose();
    expect(clock.pending()).toEqual([]);
    // With no timer left, moving the clock can start nothing.
    clock.advance(60_000);
    expect(count("GET /health")).toBe(1);
    await expect(client.run(request)).rejects.toMatchObject({ code: "aborted" });
    expect(count("POST /runs")).toBe(0);
    const calls = listener.mock.calls.length;
    await client.checkHealth().catch(() => {});
    expect(listener.mock.calls.length).toBe(calls);
  });
});

describe("a server whose /health is fine but whose runs fail", () => {
  it("is degraded then offline, never online, while runs fall back", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => problemResponse("internal", 500)),
    );
    const client = makeClient({ fallback: "mock" });
    await client.checkHealth();
    expect(client.status).toBe("online");
    const statuses: string[] = [];
    client.subscribe((state) => statuses.push(state.status));

    for (let run = 1; run <= 3; run++) {
      await expect(client.run(request)).resolves.toMatchObject({ backend: "mock" });
      // The failure's own health check answers ok, and must not make it look healthy.
      await vi.waitFor(() => expect(count("GET /health")).toBe(run + 1));
      await healthSettled();
      expect(client.status).not.toBe("online");
    }
    expect(client.status).toBe("offline");
    expect(count("POST /runs")).toBe(3);

    // Open: the next run goes to the mock without trying the server.
    await expect(client.run(request)).resolves.toMatchObject({ backend: "mock" });
    expect(count("POST /runs")).toBe(3);

    // A scheduled probe answers ok: the server is tried again, but is not called online.
    clock.advance(await vi.waitFor(nextTimer));
    await vi.waitFor(() => expect(count("GET /health")).toBe(5));
    await vi.waitFor(() => expect(client.status).toBe("degraded"));
    await expect(client.run(request)).resolves.toMatchObject({ backend: "mock" });
    expect(count("POST /runs")).toBe(4);
    await healthSettled();
    expect(client.status).toBe("offline");
    expect(statuses).not.toContain("online");
  });

  it("is online again once a run completes on the server", async () => {
    let fail = true;
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => (fail ? problemResponse("internal", 500) : runOk())),
    );
    const client = makeClient({ fallback: "mock" });
    await client.run(request);
    // The failure's health check answers ok; the status stays degraded once it is in.
    await healthSettled();
    expect(client.status).toBe("degraded");
    fail = false;
    await expect(client.run(request)).resolves.toMatchObject({ backend: "server" });
    expect(client.status).toBe("online");
  });
});
