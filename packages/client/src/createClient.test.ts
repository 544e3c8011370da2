import type { RunEvent, RunRequest } from "@mecha/protocol";
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createFakeClock, type FakeClock } from "../test/fakeClock";
import { BASE, controlledStream, healthBody, ndjson, problem, runResult } from "../test/fixtures";
import type { Backend } from "./backend";
import type { ClientState } from "./circuit";
import { createClient, type MechaClient } from "./createClient";
import { isMechaError } from "./errors/isMechaError";
import { MOCK_NOTICE } from "./mockBackend";
import type { ClientOptions } from "./resolveOptions";

const server = setupServer();
const requests: string[] = [];
server.events.on("request:start", ({ request }) => {
  requests.push(`${request.method} ${new URL(request.url).pathname}`);
});
const count = (what: string) => requests.filter((line) => line === what).length;

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterAll(() => server.close());

let clock: FakeClock;
const clients: MechaClient[] = [];
beforeEach(() => {
  clock = createFakeClock();
  requests.length = 0;
});
afterEach(async () => {
  // Let requests in flight settle first: msw reports an aborted error response as unhandled.
  await io();
  for (const client of clients.splice(0)) client.dispose();
  server.resetHandlers();
});

function makeClient(options: Partial<ClientOptions> = {}): MechaClient {
  const client = createClient({
    baseUrl: BASE,
    timers: clock.timers,
    now: clock.now,
    random: () => 0.5,
    onWarning: () => {},
    ...options,
  });
  clients.push(client);
  return client;
}

const request: RunRequest = { language: "python", code: 'print("hi")' };
const NDJSON = { "content-type": "application/x-ndjson" };
const PROBLEM = { "content-type": "application/problem+json" };

const healthy = (status: "ok" | "degraded" = "ok") =>
  http.get(`${BASE}/health`, () => HttpResponse.json(healthBody(status)));
const healthDown = () => http.get(`${BASE}/health`, () => HttpResponse.error());
const runOk = (stdout = "hi\n") =>
  new HttpResponse(
    ndjson([
      { type: "started", id: "run_1" },
      { type: "stdout", data: stdout },
      { type: "exit", result: runResult({ stdout }) },
    ]),
    { headers: NDJSON },
  );
const problemResponse = (code: string, status: number, headers: Record<string, string> = {}) =>
  HttpResponse.json(problem(code, status), { status, headers: { ...PROBLEM, ...headers } });

/** Lets real I/O (msw's fetch, streams) make progress without moving the fake clock. */
const io = () => new Promise((resolve) => setTimeout(resolve, 20));

/** Advances the fake clock in steps, giving real I/O a moment each time, until `promise` settles. */
async function drive<T>(promise: Promise<T>, stepMs = 100, maxSteps = 1000): Promise<T> {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  for (let step = 0; step < maxSteps && !done; step++) {
    clock.advance(stepMs);
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
  return promise;
}

describe("nothing happens until first use", () => {
  it("makes no request and sets no timer on creation", async () => {
    const client = makeClient();
    await io();
    expect(requests).toEqual([]);
    expect(clock.pending()).toEqual([]);
    expect(client.status).toBe("unknown");
    expect(client.health).toBeNull();
  });

  it("rejects a missing baseUrl and a bad fallback with a clear TypeError", () => {
    expect(() => createClient({} as ClientOptions)).toThrow(/baseUrl/);
    expect(() => createClient({ baseUrl: BASE, fallback: ["cloud" as "mock"] })).toThrow(
      /fallback/,
    );
    expect(() => createClient({ baseUrl: BASE, timeoutMs: -1 })).toThrow(/timeoutMs/);
  });
});

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
    await io();
    expect(attempts).toBe(1);
    clock.advance(1);
    await vi.waitFor(() => expect(attempts).toBe(2));
    await vi.waitFor(() => expect(clock.pending()).toContain(450));
    clock.advance(449);
    await io();
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
    await io();
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
      await io();
      expect(count("POST /runs")).toBe(1);
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

describe("validation", () => {
  it("turns a health body that is not protocol v1 into invalid_response", async () => {
    server.use(http.get(`${BASE}/health`, () => HttpResponse.json({ status: "fine" })));
    const client = makeClient();
    const error = await client.checkHealth().catch((e) => e);
    expect(error).toMatchObject({
      name: "InvalidResponseError",
      code: "invalid_response",
      status: 200,
    });
    expect(error.message).toMatch(/health body/);
    expect(client.status).toBe("degraded");
  });

  it("turns an HTML page where JSON was expected into invalid_response", async () => {
    server.use(
      http.get(`${BASE}/health`, () =>
        HttpResponse.html("<!doctype html><title>Welcome to nginx</title>"),
      ),
    );
    const client = makeClient();
    await expect(client.checkHealth()).rejects.toMatchObject({ code: "invalid_response" });
  });

  it("rejects a health body of another protocol version", async () => {
    server.use(
      http.get(`${BASE}/health`, () => HttpResponse.json({ ...healthBody(), protocol: 2 })),
    );
    await expect(makeClient().checkHealth()).rejects.toMatchObject({ code: "invalid_response" });
  });

  it("rejects a run stream event that is not protocol v1, and cancels the run", async () => {
    let cancels = 0;
    server.use(
      healthy(),
      http.post(
        `${BASE}/runs`,
        () =>
          new HttpResponse(
            ndjson([
              { type: "started", id: "run_9" },
              { type: "progress", pct: 5 },
            ]),
            {
              headers: NDJSON,
            },
          ),
      ),
      http.post(`${BASE}/runs/run_9/cancel`, () => {
        cancels++;
        return HttpResponse.json({ id: "run_9", status: "cancelling" }, { status: 202 });
      }),
    );
    const error = await makeClient()
      .run(request)
      .catch((e) => e);
    expect(error).toMatchObject({ code: "invalid_response" });
    await vi.waitFor(() => expect(cancels).toBe(1));
  });

  it("rejects a run stream line that is not JSON", async () => {
    server.use(
      healthy(),
      http.post(
        `${BASE}/runs`,
        () => new HttpResponse('{"type":"started","id":"r"}\nnot json\n', { headers: NDJSON }),
      ),
      http.post(`${BASE}/runs/r/cancel`, () => new HttpResponse(null, { status: 202 })),
    );
    await expect(makeClient().run(request)).rejects.toMatchObject({ code: "invalid_response" });
  });

  it("rejects a run answered with JSON instead of a stream", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => HttpResponse.json(runResult())),
    );
    const error = await makeClient()
      .run(request)
      .catch((e) => e);
    expect(error).toMatchObject({ code: "invalid_response" });
    expect(error.message).toContain("application/x-ndjson");
  });
});

describe("streaming", () => {
  it("delivers events while the program still runs, not after the response ends", async () => {
    const body = controlledStream();
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => new HttpResponse(body.stream, { headers: NDJSON })),
    );
    const events: RunEvent[] = [];
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
    const events: RunEvent[] = [];
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
    const result = makeClient().run(request);
    body.send({ type: "started", id: "r" });
    await io();
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
    const events: RunEvent[] = [];
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
    await io();
    clock.advance(1);
    const error = await result.catch((e) => e);
    expect(error).toMatchObject({ name: "TimeoutError", code: "timeout" });
    await vi.waitFor(() => expect(cancels).toBe(1));
  });
});

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
    await io();
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
    await vi.waitFor(() => expect(clock.pending().length).toBeGreaterThan(0));
    clock.advance(clock.pending()[0]!);
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
    clock.advance(60_000);
    await io();
    expect(count("GET /health")).toBe(1);
    await expect(client.run(request)).rejects.toMatchObject({ code: "aborted" });
    expect(count("POST /runs")).toBe(0);
    const calls = listener.mock.calls.length;
    await client.checkHealth().catch(() => {});
    expect(listener.mock.calls.length).toBe(calls);
  });
});

describe("host callbacks", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("an onEvent or listener that throws is reported, not mistaken for a server failure", async () => {
    const reportError = vi.fn();
    vi.stubGlobal("reportError", reportError);
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => runOk()),
    );
    const client = makeClient({ fallback: "mock" });
    const boom = new Error("bug in the host");
    client.subscribe(() => {
      throw boom;
    });
    const result = await client.run(request, {
      onEvent: () => {
        throw boom;
      },
    });
    expect(result.backend).toBe("server");
    expect(reportError).toHaveBeenCalledWith(boom);
    expect(reportError.mock.calls.length).toBeGreaterThanOrEqual(4);
    expect(client.status).toBe("online");
  });
});

describe("fallback backends", () => {
  it('skips "browser" without a backend, warns once, and uses the next fallback', async () => {
    server.use(
      healthDown(),
      http.post(`${BASE}/runs`, () => HttpResponse.error()),
    );
    const onWarning = vi.fn();
    const client = makeClient({ fallback: ["browser", "mock"], onWarning, retry: { limit: 0 } });
    const first = await client.run(request);
    const second = await client.run(request);
    expect(first.backend).toBe("mock");
    expect(second.backend).toBe("mock");
    expect(onWarning).toHaveBeenCalledTimes(1);
    expect(onWarning.mock.calls[0]![0]).toMatchObject({
      name: "UnavailableError",
      code: "unavailable",
    });
    expect(onWarning.mock.calls[0]![0].message).toMatch(/createClient\(\{ browser \}\)/);
  });

  it('rejects with the server\'s error when "browser" is the only fallback and none was given', async () => {
    server.use(
      healthDown(),
      http.post(`${BASE}/runs`, () => HttpResponse.error()),
    );
    const onWarning = vi.fn();
    const client = makeClient({ fallback: "browser", onWarning, retry: { limit: 0 } });
    await expect(client.run(request)).rejects.toMatchObject({ code: "network" });
    expect(onWarning).toHaveBeenCalledTimes(1);
  });

  it("loads a browser backend lazily, once, and labels its results", async () => {
    server.use(
      healthDown(),
      http.post(`${BASE}/runs`, () => HttpResponse.error()),
    );
    const starts: boolean[] = [];
    const backend: Backend = {
      start(req, { onEvent, interactive }) {
        starts.push(interactive);
        const result = runResult({ id: "b1", stdout: `ran ${req.code.length} chars\n` });
        onEvent({ type: "started", id: "b1" });
        onEvent({ type: "exit", result });
        return {
          result: Promise.resolve(result),
          sendStdin: async () => {},
          cancel: async () => {},
        };
      },
    };
    const factory = vi.fn(async () => backend);
    const client = makeClient({ fallback: "browser", browser: factory, retry: { limit: 0 } });
    expect(factory).not.toHaveBeenCalled();
    await expect(client.run(request)).resolves.toMatchObject({ backend: "browser", id: "b1" });
    const handle = client.start(request);
    await expect(handle.result).resolves.toMatchObject({ backend: "browser" });
    expect(handle.backend).toBe("browser");
    expect(factory).toHaveBeenCalledTimes(1);
    expect(starts).toEqual([false, true]);
  });

  it("falls back when the server cannot run code (503 unavailable)", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => problemResponse("unavailable", 503)),
    );
    const result = await makeClient({ fallback: "mock", mock: () => ({ stdout: "canned\n" }) }).run(
      request,
    );
    expect(result).toMatchObject({ backend: "mock", stdout: `${MOCK_NOTICE}canned\n` });
  });

  it("moves on from a backend whose start() throws", async () => {
    server.use(
      healthDown(),
      http.post(`${BASE}/runs`, () => HttpResponse.error()),
    );
    const client = makeClient({
      fallback: ["browser", "mock"],
      retry: { limit: 0 },
      browser: {
        start() {
          throw new Error("worker failed to boot");
        },
      },
    });
    await expect(client.run(request)).resolves.toMatchObject({ backend: "mock" });
  });

  it("wraps a crashing custom backend in a typed error", async () => {
    server.use(
      healthDown(),
      http.post(`${BASE}/runs`, () => HttpResponse.error()),
    );
    const onWarning = vi.fn();
    const client = makeClient({
      fallback: ["browser", "mock"],
      retry: { limit: 0 },
      onWarning,
      browser: () => {
        throw new Error("WebAssembly is disabled");
      },
    });
    await expect(client.run(request)).resolves.toMatchObject({ backend: "mock" });
    expect(onWarning).toHaveBeenCalledTimes(1);
    expect(onWarning.mock.calls[0]![0]).toMatchObject({ code: "unavailable" });
    expect(onWarning.mock.calls[0]![0].message).toContain("WebAssembly is disabled");
  });
});

/** A browser backend double that records what it was asked to run. */
function fakeBrowser() {
  const starts: RunRequest[] = [];
  const backend: Backend = {
    start(req, { onEvent }) {
      starts.push(req);
      const result = runResult({ id: "b1", stdout: "ran in the browser\n" });
      onEvent({ type: "started", id: "b1" });
      onEvent({ type: "exit", result });
      return { result: Promise.resolve(result), sendStdin: async () => {}, cancel: async () => {} };
    },
  };
  return { backend, starts };
}

describe("a baseUrl where no Mecha server answers", () => {
  const notFoundPage = () =>
    http.all(`${BASE}/*`, () =>
      HttpResponse.html("<!doctype html><h1>404 Not Found</h1>", { status: 404 }),
    );

  it("is never online, and runs fall back to the mock", async () => {
    server.use(notFoundPage());
    const client = makeClient({ fallback: "mock" });
    const statuses: string[] = [];
    client.subscribe((state) => statuses.push(state.status));
    const health = await client.checkHealth().catch((e) => e);
    expect(health).toMatchObject({ name: "HttpError", code: "http", status: 404 });
    expect(health.problem).toBeUndefined();
    expect(client.status).toBe("degraded");

    const result = await drive(client.run(request));
    expect(result).toMatchObject({ backend: "mock" });
    expect(result.stdout.startsWith(MOCK_NOTICE)).toBe(true);
    expect(count("POST /runs")).toBe(1);
    await io();
    expect(["degraded", "offline"]).toContain(client.status);
    expect(statuses).not.toContain("online");
  });

  it.each<[string, () => Response]>([
    ["405 on POST (a static host)", () => new HttpResponse("Method Not Allowed", { status: 405 })],
    ["404 as plain JSON", () => HttpResponse.json({ error: "not found" }, { status: 404 })],
  ])("falls back on a %s", async (_name, answer) => {
    server.use(healthy(), http.post(`${BASE}/runs`, answer));
    await expect(makeClient({ fallback: "mock" }).run(request)).resolves.toMatchObject({
      backend: "mock",
    });
  });

  it("does not fall back on a Mecha server's own 404 problem", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => problemResponse("not_found", 404)),
    );
    const error = await makeClient({ fallback: "mock" })
      .run(request)
      .catch((e) => e);
    expect(error).toMatchObject({ code: "http", status: 404 });
    expect(error.problem.code).toBe("not_found");
  });

  it.each<[string, () => Response, "online" | "degraded"]>([
    ["404 HTML", () => HttpResponse.html("<h1>nope</h1>", { status: 404 }), "degraded"],
    ["405", () => new HttpResponse(null, { status: 405 }), "degraded"],
    ["400 HTML", () => HttpResponse.html("bad", { status: 400 }), "degraded"],
    ["429 from a proxy", () => new HttpResponse("slow down", { status: 429 }), "degraded"],
    ["500 problem", () => problemResponse("internal", 500), "degraded"],
    ["503 busy problem", () => problemResponse("busy", 503), "degraded"],
    ["401 problem (reachable)", () => problemResponse("unauthorized", 401), "online"],
    ["403 problem (reachable)", () => problemResponse("forbidden", 403), "online"],
  ])("GET /health answering %s → %s", async (_name, answer, expected) => {
    server.use(http.get(`${BASE}/health`, answer));
    const client = makeClient();
    await expect(client.checkHealth()).rejects.toMatchObject({ attempts: 1 });
    expect(client.status).toBe(expected);
  });

  it("surfaces a refused health check (401) through onWarning, once", async () => {
    server.use(http.get(`${BASE}/health`, () => problemResponse("unauthorized", 401)));
    const onWarning = vi.fn();
    const client = makeClient({ onWarning });
    client.subscribe(() => {});
    await vi.waitFor(() => expect(onWarning).toHaveBeenCalledTimes(1));
    expect(onWarning.mock.calls[0]![0]).toMatchObject({ code: "http", status: 401 });
    expect(onWarning.mock.calls[0]![0].problem.code).toBe("unauthorized");
    await client.checkHealth().catch(() => {});
    expect(onWarning).toHaveBeenCalledTimes(1);
    expect(client.status).toBe("online");
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
      await io();
      expect(client.status).not.toBe("online");
    }
    expect(client.status).toBe("offline");
    expect(count("POST /runs")).toBe(3);

    // Open: the next run goes to the mock without trying the server.
    await expect(client.run(request)).resolves.toMatchObject({ backend: "mock" });
    expect(count("POST /runs")).toBe(3);

    // A scheduled probe answers ok: the server is tried again, but is not called online.
    clock.advance(clock.pending()[0]!);
    await vi.waitFor(() => expect(count("GET /health")).toBe(5));
    await vi.waitFor(() => expect(client.status).toBe("degraded"));
    await expect(client.run(request)).resolves.toMatchObject({ backend: "mock" });
    expect(count("POST /runs")).toBe(4);
    await io();
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
    await io();
    expect(client.status).toBe("degraded");
    fail = false;
    await expect(client.run(request)).resolves.toMatchObject({ backend: "server" });
    expect(client.status).toBe("online");
  });
});

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
    await new Promise((resolve) => setTimeout(resolve, 100));
    const cancelledAt = Date.now();
    await handle.cancel();
    const error = await handle.result.catch((e) => e);
    expect(Date.now() - cancelledAt).toBeLessThan(500);
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
    await io();
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
    clock.advance(10_000);
    await io();
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

describe("a headers function that throws", () => {
  it.each<[string, () => HeadersInit | Promise<HeadersInit>]>([
    [
      "synchronously",
      () => {
        throw new Error("token store locked");
      },
    ],
    ["asynchronously", async () => Promise.reject(new Error("token store locked"))],
  ])("(%s) rejects typed, never falls back, and sends nothing", async (_name, headers) => {
    const fetch = vi.fn(async () => Response.json(healthBody()));
    const client = makeClient({ fallback: "mock", headers, fetch });
    const error = await client.run(request).catch((e) => e);
    expect(error).toMatchObject({
      name: "HttpError",
      code: "http",
      status: undefined,
      attempts: 1,
    });
    expect(error.cause).toMatchObject({ message: "token store locked" });
    expect(error.message).toMatch(/headers option threw.*token store locked/);
    expect(error.request).toEqual({ method: "POST", url: `${BASE}/runs` });
    await expect(client.checkHealth()).rejects.toMatchObject({ code: "http", status: undefined });
    expect(fetch).not.toHaveBeenCalled();
    // The host's bug says nothing about the server.
    expect(client.status).toBe("unknown");
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
    const result = makeClient({ runTimeoutMarginMs: 500, timeoutMs: 3000 }).run({
      ...request,
      limits: { timeoutMs: 1000 },
    });
    result.finally(() => {
      settled = true;
    });
    // Headers arrive at once; then the run waits in the queue far longer than its limit.
    await io();
    for (let step = 0; step < 20; step++) {
      clock.advance(1000);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
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
    const result = makeClient({ runTimeoutMarginMs: 500 }).run({
      ...request,
      limits: { timeoutMs: 1000 },
    });
    body.send({ type: "started", id: "chatty" });
    await vi.waitFor(() => expect(clock.pending()).toContain(1500));
    for (let tick = 0; tick < 5; tick++) {
      body.send({ type: "stdout", data: "tick\n" });
      await io();
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

describe("run() never runs a program twice on a real interpreter", () => {
  it("falls back to the mock, not the browser, once the server delivered events", async () => {
    server.use(
      healthy(),
      http.post(
        `${BASE}/runs`,
        () => new HttpResponse(ndjson([{ type: "started", id: "r" }]), { headers: NDJSON }),
      ),
    );
    const { backend, starts } = fakeBrowser();
    const result = await makeClient({ fallback: ["browser", "mock"], browser: backend }).run(
      request,
    );
    expect(result.backend).toBe("mock");
    expect(starts).toEqual([]);
  });

  it.each([502, 504])("falls back to the mock, not the browser, after a %i", async (status) => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => new HttpResponse("<html>gateway</html>", { status })),
    );
    const { backend, starts } = fakeBrowser();
    const client = makeClient({ fallback: ["browser", "mock"], browser: backend });
    await expect(client.run(request)).resolves.toMatchObject({ backend: "mock" });
    expect(starts).toEqual([]);
    const onlyBrowser = makeClient({ fallback: "browser", browser: backend });
    await expect(onlyBrowser.run(request)).rejects.toMatchObject({ code: "http", status });
    expect(starts).toEqual([]);
    expect(count("POST /runs")).toBe(2);
  });

  it("still uses the browser when the server cannot have run it", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => problemResponse("unavailable", 503)),
    );
    const { backend, starts } = fakeBrowser();
    const result = await makeClient({ fallback: ["browser", "mock"], browser: backend }).run(
      request,
    );
    expect(result.backend).toBe("browser");
    expect(starts).toHaveLength(1);
  });
});

describe("errors carry the response", () => {
  it("has the status and headers (retry-after) of an error response", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () =>
        problemResponse("rate_limited", 429, { "retry-after": "60" }),
      ),
    );
    const error = await makeClient()
      .run(request)
      .catch((e) => e);
    expect(error.response).toMatchObject({
      status: 429,
      headers: { "retry-after": "60", "content-type": "application/problem+json" },
    });
  });

  it.each<[string, () => Response, number]>([
    ["a health body that is not protocol v1", () => HttpResponse.json({ status: "fine" }), 200],
    ["a 404 page on /health", () => HttpResponse.html("nope", { status: 404 }), 404],
  ])("has the response of %s", async (_name, answer, status) => {
    server.use(http.get(`${BASE}/health`, answer));
    const error = await makeClient()
      .checkHealth()
      .catch((e) => e);
    expect(error.response).toMatchObject({
      status,
      headers: { "content-type": expect.any(String) },
    });
  });

  it("has the run's response when the stream breaks or is not protocol v1", async () => {
    server.use(
      healthy(),
      http.post(
        `${BASE}/runs`,
        () =>
          new HttpResponse(ndjson([{ type: "stdout", data: "x" }]), {
            headers: { ...NDJSON, "x-run": "1" },
          }),
      ),
    );
    const error = await makeClient()
      .run(request)
      .catch((e) => e);
    expect(error).toMatchObject({ code: "network", status: 200 });
    expect(error.response).toMatchObject({ status: 200, headers: { "x-run": "1" } });
  });

  it("has none when nothing answered", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => HttpResponse.error()),
    );
    const error = await drive(makeClient().run(request)).catch((e) => e);
    expect(error).toMatchObject({ code: "network" });
    expect(error.response).toBeUndefined();
  });
});

describe("client.fallbacks", () => {
  const browser = fakeBrowser().backend;
  it.each<[Partial<ClientOptions>, string[]]>([
    [{}, []],
    [{ fallback: "none" }, []],
    [{ fallback: "mock" }, ["mock"]],
    [{ fallback: "browser" }, []],
    [{ fallback: "browser", browser }, ["browser"]],
    [{ fallback: ["browser", "mock"] }, ["mock"]],
    [{ fallback: ["browser", "mock"], browser }, ["browser", "mock"]],
    [{ fallback: ["mock", "browser"], browser: () => browser }, ["mock", "browser"]],
  ])("%o → %j", (options, expected) => {
    const client = makeClient(options);
    expect(client.fallbacks).toEqual(expected);
    expect(Object.isFrozen(client.fallbacks)).toBe(true);
  });
});
