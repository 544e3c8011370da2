import { describe, expect, it } from "vitest";
import { AbortedError } from "./errors/AbortedError";
import { BusyError } from "./errors/BusyError";
import { HttpError } from "./errors/HttpError";
import { InvalidResponseError } from "./errors/InvalidResponseError";
import type { MechaError } from "./errors/MechaError";
import { NetworkError } from "./errors/NetworkError";
import { RateLimitedError } from "./errors/RateLimitedError";
import { TimeoutError } from "./errors/TimeoutError";
import { UnavailableError } from "./errors/UnavailableError";
import { backoffDelay, parseRetryAfter, retryDelay } from "./retry";

const policy = { limit: 2, baseMs: 300, maxMs: 10_000 };
const half = () => 0.5;

const network = new NetworkError("refused");
const status = (code: number) => new HttpError(`HTTP ${code}`, { status: code });

describe("retryDelay", () => {
  it.each<[string, MechaError, "unsafe" | "idempotent", number | null]>([
    ["a refused connection on a run", network, "unsafe", 225],
    ["429 without Retry-After", new RateLimitedError("slow down", { status: 429 }), "unsafe", 225],
    [
      "429 with Retry-After",
      new RateLimitedError("", { status: 429, retryAfterMs: 2000 }),
      "unsafe",
      2000,
    ],
    [
      "503 busy with Retry-After",
      new BusyError("", { status: 503, retryAfterMs: 1000 }),
      "unsafe",
      1000,
    ],
    ["502 on a run (a proxy may have let it run)", status(502), "unsafe", null],
    ["504 on a run", status(504), "unsafe", null],
    ["503 without busy on a run", new UnavailableError("", { status: 503 }), "unsafe", null],
    ["500 on a run", status(500), "unsafe", null],
    ["a timeout on a run", new TimeoutError("stuck"), "unsafe", null],
    ["502 on a health check", status(502), "idempotent", 225],
    ["504 on a cancel", status(504), "idempotent", 225],
    ["503 on a health check", status(503), "idempotent", 225],
    ["a timeout on a health check", new TimeoutError("slow"), "idempotent", 225],
    ["500 on a health check", status(500), "idempotent", null],
    ["400 anywhere", status(400), "idempotent", null],
    ["an invalid response", new InvalidResponseError("junk"), "idempotent", null],
    ["an abort", new AbortedError("stop"), "idempotent", null],
  ])("%s → %s", (_name, error, safety, expected) => {
    expect(retryDelay(error, 1, policy, safety, half)).toBe(expected);
  });

  it("stops after `limit` retries", () => {
    expect(retryDelay(network, 2, policy, "unsafe", half)).not.toBeNull();
    expect(retryDelay(network, 3, policy, "unsafe", half)).toBeNull();
    expect(retryDelay(network, 1, { ...policy, limit: 0 }, "unsafe", half)).toBeNull();
  });

  it("gives up rather than wait longer than maxMs for Retry-After", () => {
    const error = new RateLimitedError("", { status: 429, retryAfterMs: 60_000 });
    expect(retryDelay(error, 1, policy, "unsafe", half)).toBeNull();
  });
});

describe("backoffDelay", () => {
  it.each([
    [1, 0, 150],
    [1, 0.999999, 300],
    [2, 0, 300],
    [3, 0.5, 900],
    [10, 0, 5000],
    [10, 0.999999, 10_000],
  ])("attempt %i with random %d → %d ms", (attempt, random, expected) => {
    expect(backoffDelay(attempt, policy, () => random)).toBeCloseTo(expected, 0);
  });

  it("grows exponentially with jitter inside [step/2, step] and never passes the cap", () => {
    for (let attempt = 1; attempt < 12; attempt++) {
      const step = Math.min(10_000, 300 * 2 ** (attempt - 1));
      for (const random of [0, 0.3, 0.7, 0.99]) {
        const delay = backoffDelay(attempt, policy, () => random);
        expect(delay).toBeGreaterThanOrEqual(step / 2);
        expect(delay).toBeLessThanOrEqual(step);
      }
    }
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2025-01-01T00:00:00Z");
  it.each<[string | null, number | undefined]>([
    ["2", 2000],
    ["0", 0],
    ["1.5", 1500],
    ["Wed, 01 Jan 2025 00:00:05 GMT", 5000],
    ["Tue, 31 Dec 2024 23:59:00 GMT", 0],
    ["soon", undefined],
    ["", undefined],
    [null, undefined],
  ])("%j → %j", (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});
