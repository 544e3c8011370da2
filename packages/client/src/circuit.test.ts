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

const state = (partial: Partial<ClientState>): ClientState => ({ ...initialState, ...partial });
const success: CircuitEvent = { type: "success" };
const failure: CircuitEvent = { type: "failure" };
const probe: CircuitEvent = { type: "probe" };

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
    ["unknown + any answer → online", initialState, success, { status: "online", health: null }],
    [
      "unknown + failure → degraded (heading offline)",
      initialState,
      failure,
      { status: "degraded", circuit: "closed", failures: 1 },
    ],
    [
      "online + failure → degraded",
      state({ status: "online" }),
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
      state({ status: "offline", circuit: "open", failures: 4 }),
      success,
      { status: "online", circuit: "closed", failures: 0 },
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
      { status: "offline", circuit: "open", failures: 3, health: unavailable },
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
    [new HttpError("run finished", { status: 409 }), "success"],
    [new RateLimitedError("slow down", { status: 429 }), "success"],
    [new BusyError("queue full", { status: 503 }), "success"],
    [new AbortedError("stop"), null],
  ])("%s → %s", (error, expected) => {
    expect(circuitEventFor(error)?.type ?? null).toBe(expected);
  });
});
