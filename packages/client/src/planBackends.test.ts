import { describe, expect, it } from "vitest";
import type { BackendKind } from "./backend";
import type { CircuitPhase } from "./circuit";
import { AbortedError } from "./errors/AbortedError";
import { BusyError } from "./errors/BusyError";
import { HttpError } from "./errors/HttpError";
import { InvalidResponseError } from "./errors/InvalidResponseError";
import type { MechaError } from "./errors/MechaError";
import { NetworkError } from "./errors/NetworkError";
import { TimeoutError } from "./errors/TimeoutError";
import { UnavailableError } from "./errors/UnavailableError";
import { canFallBack, type FallbackKind, mayHaveRun, planBackends } from "./planBackends";

const notFound = {
  type: "urn:mecha:problem:not_found",
  title: "Not found",
  status: 404,
  detail: "No run with that id.",
  code: "not_found" as const,
};

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
    // No Mecha server answered: a wrong baseUrl, a static host.
    [new HttpError("html 404", { status: 404 }), true],
    [new HttpError("html 405", { status: 405 }), true],
    // A Mecha server answered 404 with its own problem: another backend would not help.
    [new HttpError("mecha 404", { status: 404, problem: notFound }), false],
    [new HttpError("html 403", { status: 403 }), false],
    // The host's `headers` function threw: the request was never sent.
    [new HttpError("headers threw", { cause: new Error("no token") }), false],
  ])("%s → %s", (error, expected) => {
    expect(canFallBack(error)).toBe(expected);
  });
});

describe("mayHaveRun", () => {
  it.each<[BackendKind, MechaError, boolean, boolean]>([
    ["server", new NetworkError("refused"), false, false],
    ["server", new TimeoutError("no headers"), false, false],
    ["server", new HttpError("internal", { status: 500 }), false, false],
    ["server", new InvalidResponseError("html"), false, false],
    ["server", new BusyError("full", { status: 503 }), false, false],
    ["server", new HttpError("bad gateway", { status: 502 }), false, true],
    ["server", new HttpError("gateway timeout", { status: 504 }), false, true],
    ["server", new NetworkError("died mid-run", { status: 200 }), true, true],
    ["server", new TimeoutError("stuck after started"), true, true],
    ["browser", new UnavailableError("worker crashed"), true, true],
    ["browser", new UnavailableError("worker failed to boot"), false, false],
    ["mock", new UnavailableError("responder threw"), true, false],
  ])("%s failing with %s (events delivered: %s) → %s", (kind, error, delivered, expected) => {
    expect(mayHaveRun(kind, error, delivered)).toBe(expected);
  });
});
