import type { HealthResponse } from "@mecha/protocol";
import { describe, expect, it } from "vitest";
import {
  type CircuitEvent,
  type ClientState,
  circuitEventFor,
  initialState,
  nextCheckDelay,
  transition,
} from "./circuit";
import { AbortedError } from "./errors/AbortedError";
import { BusyError } from "./errors/BusyError";
import { HttpError } from "./errors/HttpError";
import { InvalidResponseError } from "./errors/InvalidResponseError";
import type { MechaError } from "./errors/MechaError";
import { NetworkError } from "./errors/NetworkError";
import { RateLimitedError } from "./errors/RateLimitedError";
import { TimeoutError } from "./errors/TimeoutError";
import { UnavailableError } from "./errors/UnavailableError";

const policy = { threshold: 3, intervalMs: 10_000, offlineMinMs: 2_000, offlineMaxMs: 30_000 };

const health = (status: HealthResponse["status"]): HealthResponse => ({
  status,
  version: "0.1.0",
  protocol: 1,
  runtimes: [{ language: "python", version: "3.11.2", isolation: "process" }],
  capacity: { running: 0, queued: 0, maxConcurrent: 2, maxQueued: 8 },
  uptimeMs: 1,
});
const ok = health("ok");
const degraded = health("degraded");
const unavailable = health("unavailable");

const problem = (code: "not_found" | "method_not_allowed", status: number) => ({
  type: `urn:mecha:problem:${code}`,
  title: code,
  status,
  detail: code,
  code,
});

const refused = { kind: "unreachable", message: "Nothing answered." } as const;
const state = (partial: Partial<ClientState>): ClientState => ({ ...initialState, ...partial });
const success: CircuitEvent = { type: "success" };
const failure: CircuitEvent = { type: "failure" };
const probe: CircuitEvent = { type: "probe" };
const runFailed: CircuitEvent = { type: "run", ok: false };
const runDone: CircuitEvent = { type: "run", ok: true };

describe("transition", () => {
  it.each<[string, ClientState, CircuitEvent, Partial<ClientState>]>([
    [
      "unknown + healthy check → online",
      initialState,
      { type: "success", health: ok },
      { status: "online", circuit: "closed", failures: 0, health: ok },
    ],
    [
      "unknown + degraded check → degraded",
      initialState,
      { type: "success", health: degraded },
      { status: "degraded", health: degraded },
    ],
    [
      "unknown + an answer that is not a health body → still unknown",
      initialState,
      success,
      { status: "unknown", health: null },
    ],
    [
      "unknown + failure → still unknown: a server never reached is not degraded",
      initialState,
      failure,
      { status: "unknown", circuit: "closed", failures: 1 },
    ],
    [
      "unknown + 2 failures + failure → offline, circuit opens",
      state({ failures: 2 }),
      failure,
      { status: "offline", circuit: "open", failures: 3 },
    ],
    [
      "online + failure → degraded",
      state({ status: "online", health: ok }),
      failure,
      { status: "degraded", failures: 1 },
    ],
    [
      "2 failures + failure → offline, circuit opens",
      state({ status: "degraded", failures: 2 }),
      failure,
      { status: "offline", circuit: "open", failures: 3 },
    ],
    [
      "open + failure → stays open, counts",
      state({ status: "offline", circuit: "open", failures: 3 }),
      failure,
      { status: "offline", circuit: "open", failures: 4 },
    ],
    [
      "open + probe → half-open",
      state({ status: "offline", circuit: "open", failures: 3 }),
      probe,
      { status: "offline", circuit: "half_open", failures: 3 },
    ],
    [
      "half-open + failed probe → open again",
      state({ status: "offline", circuit: "half_open", failures: 3 }),
      failure,
      { status: "offline", circuit: "open", failures: 4 },
    ],
    [
      "half-open + healthy probe → closed, online",
      state({ status: "offline", circuit: "half_open", failures: 5 }),
      { type: "success", health: ok },
      { status: "online", circuit: "closed", failures: 0, health: ok },
    ],
    [
      "open + a run answered → closed",
      state({ status: "offline", circuit: "open", failures: 4, health: ok }),
      success,
      { status: "online", circuit: "closed", failures: 0 },
    ],
    [
      "open, never checked + an answer that is not a health body → closed, still unknown",
      state({ status: "offline", circuit: "open", failures: 4 }),
      success,
      { status: "unknown", circuit: "closed", failures: 0 },
    ],
    [
      "degraded health kept on later answers",
      state({ status: "degraded", health: degraded }),
      success,
      { status: "degraded", health: degraded },
    ],
    [
      "health unavailable → offline at once",
      state({ status: "online", health: ok }),
      { type: "success", health: unavailable },
      {
        status: "offline",
        circuit: "open",
        failures: 3,
        health: unavailable,
        error: expect.objectContaining({ kind: "unavailable" }),
      },
    ],
    [
      "online + a run the server failed → degraded",
      state({ status: "online", health: ok }),
      runFailed,
      { status: "degraded", runFailures: 1 },
    ],
    [
      "unknown + a run failed → still unknown, counted",
      initialState,
      runFailed,
      { status: "unknown", runFailures: 1 },
    ],
    [
      "a healthy check does not clear run failures → still degraded, never online",
      state({ status: "degraded", failures: 1, runFailures: 2 }),
      { type: "success", health: ok },
      { status: "degraded", circuit: "closed", failures: 0, runFailures: 2, health: ok },
    ],
    [
      "the 3rd consecutive run failure → offline, circuit opens (health still ok)",
      state({ status: "degraded", runFailures: 2, health: ok }),
      runFailed,
      { status: "offline", circuit: "open", runFailures: 3 },
    ],
    [
      "open on run failures + an answer that is not a probe → stays open",
      state({ status: "offline", circuit: "open", failures: 1, runFailures: 3 }),
      success,
      { status: "offline", circuit: "open", failures: 0, runFailures: 3 },
    ],
    [
      "open on run failures + healthy probe → closed but degraded",
      state({ status: "offline", circuit: "half_open", runFailures: 3 }),
      { type: "success", health: ok },
      { status: "degraded", circuit: "closed", runFailures: 3, health: ok },
    ],
    [
      "closed after run failures + a request failure → open again at once",
      state({ status: "degraded", runFailures: 3, health: ok }),
      failure,
      { status: "offline", circuit: "open", failures: 1, runFailures: 3 },
    ],
    [
      "a completed run clears both counts → online",
      state({ status: "degraded", failures: 1, runFailures: 2, health: ok }),
      runDone,
      { status: "online", circuit: "closed", failures: 0, runFailures: 0 },
    ],
    [
      "a completed run closes a circuit opened by run failures",
      state({ status: "offline", circuit: "open", runFailures: 5, health: ok }),
      runDone,
      { status: "online", circuit: "closed", runFailures: 0 },
    ],
    [
      "a completed run on a degraded server stays degraded",
      state({ status: "degraded", runFailures: 1, health: degraded }),
      runDone,
      { status: "degraded", runFailures: 0 },
    ],
    [
      "why a check failed is kept, and counts nothing",
      state({ failures: 1 }),
      { type: "error", error: refused },
      { failures: 1, status: "unknown", error: refused },
    ],
    [
      "a failure without a reason keeps the last reason",
      state({ failures: 1, error: refused }),
      failure,
      { failures: 2, status: "unknown", error: refused },
    ],
    [
      "a health body clears the reason",
      state({ failures: 2, error: refused }),
      { type: "success", health: ok },
      { failures: 0, status: "online", health: ok, error: null },
    ],
    [
      "closed + probe → unchanged",
      state({ status: "online" }),
      probe,
      { status: "online", circuit: "closed" },
    ],
  ])("%s", (_name, from, event, expected) => {
    expect(transition(from, event, policy)).toEqual({ ...from, ...expected });
  });

  it("returns the same object when nothing changes, so subscribers are not woken", () => {
    const online = transition(initialState, { type: "success", health: ok }, policy);
    expect(transition(online, { type: "success" }, policy)).toBe(online);
    expect(transition(online, probe, policy)).toBe(online);
  });

  it("opens after exactly `threshold` consecutive failures, and an answer resets the count", () => {
    let s = initialState;
    s = transition(s, failure, policy);
    s = transition(s, failure, policy);
    s = transition(s, success, policy);
    s = transition(s, failure, policy);
    s = transition(s, failure, policy);
    expect(s.circuit).toBe("closed");
    s = transition(s, failure, policy);
    expect(s).toMatchObject({ circuit: "open", status: "offline" });
    expect(transition(state({}), failure, { threshold: 1 }).circuit).toBe("open");
  });

  it("a server whose /health is fine but whose runs fail is never online", () => {
    // What the client feeds the machine for each run answered 500, with the health check a
    // failure triggers answering ok in between.
    let s = transition(initialState, { type: "success", health: ok }, policy);
    expect(s.status).toBe("online");
    const seen: string[] = [];
    for (let run = 1; run <= 6; run++) {
      for (const event of [failure, runFailed, { type: "success", health: ok } as const]) {
        s = transition(s, event, policy);
        seen.push(s.status);
      }
      if (run === 3) expect(s).toMatchObject({ circuit: "open", status: "offline" });
      s = transition(s, probe, policy);
      s = transition(s, { type: "success", health: ok }, policy);
      seen.push(s.status);
    }
    expect(seen).not.toContain("online");
    expect(s.runFailures).toBe(6);
    expect(transition(s, runDone, policy).status).toBe("online");
  });
});

describe("nextCheckDelay", () => {
  it.each<[string, Partial<ClientState>, number]>([
    ["healthy → the interval", { status: "online" }, 10_000],
    ["not yet checked → the interval", {}, 10_000],
    ["failing, still closed → quick re-check", { status: "degraded", failures: 1 }, 2_000],
    ["just opened → 2 s", { status: "offline", circuit: "open", failures: 3 }, 2_000],
    ["one more failed probe → 4 s", { status: "offline", circuit: "open", failures: 4 }, 4_000],
    ["two more → 8 s", { status: "offline", circuit: "open", failures: 5 }, 8_000],
    ["four more → 30 s cap", { status: "offline", circuit: "open", failures: 7 }, 30_000],
    ["many more → still 30 s", { status: "offline", circuit: "open", failures: 40 }, 30_000],
  ])("%s", (_name, partial, expected) => {
    expect(nextCheckDelay(state(partial), policy)).toBe(expected);
  });
});

describe("circuitEventFor", () => {
  it.each<[MechaError, CircuitEvent["type"] | null]>([
    [new NetworkError("refused"), "failure"],
    [new TimeoutError("slow"), "failure"],
    [new InvalidResponseError("html"), "failure"],
    [new UnavailableError("no python", { status: 503 }), "failure"],
    [new HttpError("bad gateway", { status: 502 }), "failure"],
    [new HttpError("internal", { status: 500 }), "failure"],
    [new HttpError("unauthorized", { status: 401 }), "success"],
    [new HttpError("not a Mecha server", { status: 404 }), "failure"],
    [new HttpError("not a Mecha server", { status: 405 }), "failure"],
    [new HttpError("unknown run", { status: 404, problem: problem("not_found", 404) }), "success"],
    [new HttpError("the headers option threw"), null],
    [new HttpError("run finished", { status: 409 }), "success"],
    [new RateLimitedError("slow down", { status: 429 }), "success"],
    [new BusyError("queue full", { status: 503 }), "success"],
    [new AbortedError("stop"), null],
  ])("%s → %s", (error, expected) => {
    expect(circuitEventFor(error)?.type ?? null).toBe(expected);
  });
});
