import { HttpResponse, http } from "msw";
import { describe, expect, it, vi } from "vitest";
import { healthy, NDJSON, problemResponse, request, useClientHarness } from "../test/clientHarness";
import { BASE, controlledStream, healthBody, ndjson, runResult } from "../test/fixtures";
import type { ClientRunEvent } from "./backend";
import { isMechaError } from "./errors/isMechaError";

/** A stream that breaks after `started` goes on where it stopped, by `seq`. */
const { server, clock, count, countAnswered, makeClient, drive } = useClientHarness();

const final = runResult({ stdout: "one\ntwo\nthree\n" });
const EVENTS = [
  { type: "started", seq: 0, id: "run_1" },
  { type: "stdout", seq: 1, data: "one\n" },
  { type: "stdout", seq: 2, data: "two\n" },
  { type: "stdout", seq: 3, data: "three\n" },
  { type: "exit", seq: 4, result: final },
];

/** The events after `after`, as `GET /runs/{id}/events?after=` answers. */
const eventsAfter = (after: number) =>
  new HttpResponse(ndjson(EVENTS.filter((event) => event.seq > after)), { headers: NDJSON });

/**
 * `POST /runs` answered by a stream the test breaks: `events` sends the first events, waits until
 * the client has handed them on, then resets the connection.
 */
function breakingRun() {
  const body = controlledStream();
  return {
    handler: http.post(`${BASE}/runs`, () => new HttpResponse(body.stream, { headers: NDJSON })),
    async breakAfter(
      count: number,
      seen: ClientRunEvent[],
      events: Record<string, unknown>[] = EVENTS,
    ) {
      for (const event of events.slice(0, count)) body.send(event);
      await vi.waitFor(() => expect(seen).toHaveLength(count));
      body.error(new TypeError("terminated"));
    },
  };
}

const outputOf = (events: ClientRunEvent[]) =>
  events.flatMap((event) => (event.type === "stdout" ? [event.data] : []));

describe("resuming a broken stream", () => {
  it("asks for the events after the last one read, with the same headers, and delivers each once", async () => {
    const asked: { after: string | null; auth: string | null }[] = [];
    const run = breakingRun();
    server.use(
      healthy(),
      run.handler,
      http.get(`${BASE}/runs/run_1/events`, ({ request: req }) => {
        asked.push({
          after: new URL(req.url).searchParams.get("after"),
          auth: req.headers.get("authorization"),
        });
        // A server may send again what the client already has: it is dropped.
        return eventsAfter(1);
      }),
    );
    const events: ClientRunEvent[] = [];
    const client = makeClient({ headers: () => ({ authorization: "Bearer t" }) });
    const result = client.run(request, { onEvent: (event) => events.push(event) });
    await run.breakAfter(3, events);
    await expect(result).resolves.toEqual({ ...final, backend: "server" });
    expect(asked).toEqual([{ after: "2", auth: "Bearer t" }]);
    expect(outputOf(events)).toEqual(["one\n", "two\n", "three\n"]);
    expect(events.map((event) => event.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(count("POST /runs")).toBe(1);
    expect(client.status).toBe("online");
  });

  it("counts events of types it skips, so a resumed stream starts after them", async () => {
    const body = controlledStream();
    const asked: (string | null)[] = [];
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => new HttpResponse(body.stream, { headers: NDJSON })),
      http.get(`${BASE}/runs/run_1/events`, ({ request: req }) => {
        asked.push(new URL(req.url).searchParams.get("after"));
        return eventsAfter(2);
      }),
    );
    const events: ClientRunEvent[] = [];
    const result = makeClient().run(request, { onEvent: (event) => events.push(event) });
    body.send(EVENTS[0]!);
    body.send({ type: "progress", seq: 1, percent: 10 });
    body.send({ ...EVENTS[1]!, seq: 2 });
    await vi.waitFor(() => expect(events).toHaveLength(2));
    body.error(new TypeError("terminated"));
    await result;
    expect(asked).toEqual(["2"]);
    expect(outputOf(events)).toEqual(["one\n", "three\n"]);
  });

  it("keeps trying with backoff while the server cannot be reached", async () => {
    let attempts = 0;
    const run = breakingRun();
    server.use(
      healthy(),
      run.handler,
      http.get(`${BASE}/runs/run_1/events`, () =>
        ++attempts < 3 ? HttpResponse.error() : eventsAfter(1),
      ),
    );
    const events: ClientRunEvent[] = [];
    const running = makeClient().run(request, { onEvent: (event) => events.push(event) });
    await run.breakAfter(2, events);
    // The run's watchdog is set too: step through the backoff alone (300 ms × ¾, then 600 × ¾).
    for (const wait of [225, 450]) {
      await vi.waitFor(() => expect(clock.pending()).toContain(wait));
      clock.advance(wait);
    }
    await expect(running).resolves.toMatchObject({ status: "succeeded" });
    expect(attempts).toBe(3);
    expect(outputOf(events)).toEqual(["one\n", "two\n", "three\n"]);
  });

  it("gives up when reopened streams bring nothing new, after retry.limit of them", async () => {
    const run = breakingRun();
    server.use(
      healthy(),
      run.handler,
      // Each answer repeats what the client has, and ends before the run does.
      http.get(
        `${BASE}/runs/run_1/events`,
        () => new HttpResponse(ndjson(EVENTS.slice(0, 2)), { headers: NDJSON }),
      ),
    );
    const events: ClientRunEvent[] = [];
    const running = makeClient({ retry: { limit: 2 } }).run(request, {
      onEvent: (event) => events.push(event),
    });
    await run.breakAfter(2, events);
    for (const wait of [225, 450]) {
      await vi.waitFor(() => expect(clock.pending()).toContain(wait));
      clock.advance(wait);
    }
    const error = await running.catch((e) => e);
    expect(error).toMatchObject({ code: "network" });
    expect(error.message).toMatch(/before the run ended/);
    expect(count("GET /runs/run_1/events")).toBe(3);
  });

  it("fails with events_expired when the server no longer keeps what was missed", async () => {
    let cancels = 0;
    const run = breakingRun();
    server.use(
      healthy(),
      run.handler,
      http.get(`${BASE}/runs/run_1/events`, () => problemResponse("events_expired", 410)),
      http.post(`${BASE}/runs/run_1/cancel`, () => {
        cancels++;
        return new HttpResponse(null, { status: 202 });
      }),
    );
    const events: ClientRunEvent[] = [];
    const running = makeClient().run(request, { onEvent: (event) => events.push(event) });
    await run.breakAfter(2, events);
    const error = await running.catch((e) => e);
    expect(isMechaError(error, "events_expired")).toBe(true);
    expect(error).toMatchObject({ name: "HttpError", code: "http", status: 410 });
    // The run may still end on the server, and its result be read with getRun().
    expect(cancels).toBe(0);
  });

  it("does not resume a stream without seq (a server from before resuming)", async () => {
    const run = breakingRun();
    server.use(healthy(), run.handler);
    const events: ClientRunEvent[] = [];
    const running = makeClient().run(request, { onEvent: (event) => events.push(event) });
    await run.breakAfter(2, events, [
      { type: "started", id: "run_1" },
      { type: "stdout", data: "one\n" },
    ]);
    await expect(running).rejects.toMatchObject({ code: "network" });
    expect(count("GET /runs/run_1/events")).toBe(0);
  });
});

describe("Idempotency-Key", () => {
  const resuming = () =>
    http.get(`${BASE}/health`, () =>
      HttpResponse.json({ ...healthBody(), features: ["resume", "displays"] }),
    );

  it("sends one random key per run, the same on each attempt of it", async () => {
    const keys: (string | null)[] = [];
    let attempts = 0;
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, ({ request: req }) => {
        keys.push(req.headers.get("idempotency-key"));
        return ++attempts === 1
          ? problemResponse("busy", 503, { "retry-after": "1" })
          : new HttpResponse(ndjson(EVENTS), { headers: NDJSON });
      }),
    );
    const client = makeClient();
    await drive(client.run(request));
    await client.run(request);
    expect(keys).toHaveLength(3);
    expect(keys[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(keys[2]).not.toBe(keys[0]);
  });

  it("with a server that honours it, retries a run whose answer was lost (a 502)", async () => {
    const keys: (string | null)[] = [];
    server.use(
      resuming(),
      http.post(`${BASE}/runs`, ({ request: req }) => {
        keys.push(req.headers.get("idempotency-key"));
        return keys.length === 1
          ? new HttpResponse("Bad gateway", { status: 502 })
          : new HttpResponse(ndjson(EVENTS), { headers: NDJSON });
      }),
    );
    const client = makeClient();
    await client.checkHealth();
    await expect(drive(client.run(request))).resolves.toMatchObject({ status: "succeeded" });
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
  });

  it("without one (no `resume` in its features), does not retry a 502", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => new HttpResponse("Bad gateway", { status: 502 })),
    );
    const client = makeClient();
    await client.checkHealth();
    await expect(client.run(request)).rejects.toMatchObject({ status: 502 });
    expect(count("POST /runs")).toBe(1);
  });

  it("asks again with the same key when the stream breaks before the run started", async () => {
    const keys: (string | null)[] = [];
    const first = controlledStream();
    server.use(
      resuming(),
      http.post(`${BASE}/runs`, ({ request: req }) => {
        keys.push(req.headers.get("idempotency-key"));
        return keys.length > 1
          ? new HttpResponse(ndjson(EVENTS), { headers: NDJSON })
          : new HttpResponse(first.stream, { headers: NDJSON });
      }),
    );
    const client = makeClient();
    await client.checkHealth();
    const events: ClientRunEvent[] = [];
    const running = client.run(request, { onEvent: (event) => events.push(event) });
    // Queued on the server: nothing came yet when the connection broke.
    await vi.waitFor(() => expect(countAnswered("POST /runs")).toBe(1));
    first.error(new TypeError("terminated"));
    // A stream that brought nothing is asked again after the backoff.
    await vi.waitFor(() => expect(clock.pending()).toContain(225));
    clock.advance(225);
    await running;
    expect(keys).toEqual([keys[0], keys[0]]);
    expect(outputOf(events)).toEqual(["one\n", "two\n", "three\n"]);
  });
});
