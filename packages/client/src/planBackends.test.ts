import { describe, expect, it } from "vitest";
import type { CircuitPhase } from "./circuit";
import { AbortedError } from "./errors/AbortedError";
import { BusyError } from "./errors/BusyError";
import { HttpError } from "./errors/HttpError";
import { InvalidResponseError } from "./errors/InvalidResponseError";
import type { MechaError } from "./errors/MechaError";
import { NetworkError } from "./errors/NetworkError";
import { TimeoutError } from "./errors/TimeoutError";
import { UnavailableError } from "./errors/UnavailableError";
import { canFallBack, type FallbackKind, planBackends } from "./planBackends";

describe("planBackends", () => {
  it.each<[CircuitPhase, FallbackKind[], string[]]>([
    ["closed", [], ["server"]],
    ["open", [], ["server"]],
    ["half_open", [], ["server"]],
    ["closed", ["mock"], ["server", "mock"]],
    ["open", ["mock"], ["mock", "server"]],
    ["half_open", ["mock"], ["mock", "server"]],
    ["closed", ["browser", "mock"], ["server", "browser", "mock"]],
    ["open", ["browser", "mock"], ["browser", "mock", "server"]],
  ])("circuit %s with fallback %j → %j", (circuit, fallbacks, expected) => {
    expect(planBackends(circuit, fallbacks)).toEqual(expected);
  });
});

describe("canFallBack", () => {
  it.each<[MechaError, boolean]>([
    [new NetworkError("refused"), true],
    [new TimeoutError("stuck"), true],
    [new InvalidResponseError("html"), true],
    [new UnavailableError("no python"), true],
    [new BusyError("queue full", { status: 503 }), true],
    [new HttpError("bad gateway", { status: 502 }), true],
    [new HttpError("unauthorized", { status: 401 }), false],
    [new HttpError("invalid request", { status: 400 }), false],
    [new HttpError("too large", { status: 413 }), false],
    [new AbortedError("stop"), false],
  ])("%s → %s", (error, expected) => {
    expect(canFallBack(error)).toBe(expected);
  });
});
