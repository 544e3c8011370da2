import type { RunRequest } from "@mecha/protocol";
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, beforeEach, vi } from "vitest";
import type { Backend } from "../src/backend";
import { createClient, type MechaClient } from "../src/createClient";
import type { ClientOptions } from "../src/resolveOptions";
import { createFakeClock } from "./fakeClock";
import { BASE, healthBody, ndjson, problem, runResult } from "./fixtures";

/**
 * The client against msw (real fetch, real streams) with a fake clock: every timer the client
 * sets — backoff, polling, watchdogs — fires only when a test moves the clock. Requests time out
 * after an hour unless a test says otherwise, so moving the clock from one of the client's own
 * timers to the next never cuts a request in flight.
 */
export const REQUEST_TIMEOUT_MS = 60 * 60_000;

export const request: RunRequest = { language: "python", code: 'print("hi")' };
export const NDJSON = { "content-type": "application/x-ndjson" };
const PROBLEM = { "content-type": "application/problem+json" };

export const healthy = (status: "ok" | "degraded" = "ok") =>
  http.get(`${BASE}/health`, () => HttpResponse.json(healthBody(status)));
export const healthDown = () => http.get(`${BASE}/health`, () => HttpResponse.error());
export const runOk = (stdout = "hi\n") =>
  new HttpResponse(
    ndjson([
      { type: "started", id: "run_1" },
      { type: "stdout", data: stdout },
      { type: "exit", result: runResult({ stdout }) },
    ]),
    { headers: NDJSON },
  );
export const problemResponse = (
  code: string,
  status: number,
  headers: Record<string, string> = {},
) => HttpResponse.json(problem(code, status), { status, headers: { ...PROBLEM, ...headers } });

/** A browser backend double that records what it was asked to run. */
export function fakeBrowser() {
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

/** Sets up msw, the fake clock and client bookkeeping for the tests of one file. */
export function useClientHarness() {
  const server = setupServer();
  const requests: string[] = [];
  const answered: string[] = [];
  server.events.on("request:start", ({ request: req }) => {
    requests.push(`${req.method} ${new URL(req.url).pathname}`);
  });
  server.events.on("response:mocked", ({ request: req }) => {
    answered.push(`${req.method} ${new URL(req.url).pathname}`);
  });
  const inFlight = new Set<Request>();
  server.events.on("request:start", ({ request: req }) => inFlight.add(req));
  server.events.on("request:end", ({ request: req }) => inFlight.delete(req));
  const clock = createFakeClock();
  const clients: MechaClient[] = [];

  beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
  afterAll(() => server.close());
  beforeEach(() => {
    clock.reset();
    requests.length = 0;
    answered.length = 0;
  });
  afterEach(async () => {
    // Let answers on their way arrive first: msw reports an answer to a request that disposing
    // aborted as an unhandled error. (Requests the client gave up on are aborted already.)
    await vi.waitFor(() => {
      for (const req of inFlight) {
        if (!req.signal.aborted) throw new Error(`${req.method} ${req.url} is still in flight.`);
      }
    });
    inFlight.clear();
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
      timeoutMs: REQUEST_TIMEOUT_MS,
      ...options,
    });
    clients.push(client);
    return client;
  }

  /** How many times `what` (e.g. `"POST /runs"`) was requested. */
  const count = (what: string) => requests.filter((line) => line === what).length;
  /** How many times `what` was answered by a handler. */
  const countAnswered = (what: string) => answered.filter((line) => line === what).length;

  /**
   * The time to the soonest timer of the client's own (backoff, polling, watchdogs; not a
   * request's timeout). Throws while there is none, for `vi.waitFor`.
   */
  function nextTimer(): number {
    const timer = clock.scheduled().find(({ delay }) => delay !== REQUEST_TIMEOUT_MS);
    if (!timer) throw new Error("The client is not waiting on a timer of its own.");
    return timer.remaining;
  }

  /**
   * Waits until every health check has been answered and taken in: the monitor schedules its
   * next check only once the last one has settled.
   */
  async function healthSettled(): Promise<void> {
    await vi.waitFor(() => {
      const what = "GET /health";
      if (countAnswered(what) !== count(what)) throw new Error("A health check is in flight.");
      nextTimer();
    });
  }

  /**
   * Moves the clock from one of the client's timers to the next (never into a request's
   * timeout), each time the client waits on one, until `promise` settles.
   */
  async function drive<T>(promise: Promise<T>, maxTimers = 200): Promise<T> {
    let settled = false;
    promise.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    for (let fired = 0; ; fired++) {
      const next = await vi.waitFor(() => (settled ? null : nextTimer()));
      if (next === null) return promise;
      if (fired === maxTimers) throw new Error(`Still unsettled after ${maxTimers} timers.`);
      clock.advance(next);
    }
  }

  return {
    server,
    clock,
    requests,
    count,
    countAnswered,
    makeClient,
    nextTimer,
    healthSettled,
    drive,
  };
}
