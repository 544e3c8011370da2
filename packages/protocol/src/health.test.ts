import { describe, expect, it } from "vitest";
import { health, limits } from "../test/fixtures";
import { FEATURES, HealthResponse, RuntimesResponse } from "./index";

const runtime = {
  language: "python",
  version: "3.11.2",
  isolation: "sandbox",
  packages: [
    { name: "numpy", version: "1.24.2" },
    { name: "pandas", version: "1.5.3" },
  ],
  limits: { defaults: limits, maxima: { ...limits, timeoutMs: 60_000 } },
};

describe("GET /health", () => {
  it("reads a wave-1 body and one with every wave-2 field", () => {
    expect(HealthResponse.parse(health)).toEqual(health);
    const wave2 = {
      ...health,
      capacity: { ...health.capacity, sessions: 2, maxSessions: 16, runners: 3 },
      features: [...FEATURES],
    };
    expect(HealthResponse.parse(wave2)).toEqual(wave2);
  });

  it("reads features it does not know, and sessions switched off", () => {
    const body = {
      ...health,
      capacity: { ...health.capacity, sessions: 0, maxSessions: 0 },
      features: ["displays", "teleport"],
    };
    expect(HealthResponse.parse(body).features).toEqual(["displays", "teleport"]);
  });

  it.each<[string, unknown]>([
    ["negative sessions", { capacity: { ...health.capacity, sessions: -1 } }],
    ["fractional runners", { capacity: { ...health.capacity, runners: 1.5 } }],
    ["features that are not strings", { features: [1] }],
    ["features that are not a list", { features: "displays" }],
  ])("rejects %s", (_name, patch) => {
    expect(HealthResponse.safeParse({ ...health, ...(patch as object) }).success).toBe(false);
  });

  it("names the feature flags the servers of this version may list", () => {
    expect(FEATURES).toEqual([
      "displays",
      "files",
      "sessions",
      "mcp",
      "resume",
      "metrics",
      "redis",
      "runtimes",
    ]);
  });
});

describe("GET /runtimes", () => {
  it("reads runtimes with their packages and limits, dropping fields it does not know", () => {
    expect(RuntimesResponse.parse([runtime])).toEqual([runtime]);
    expect(RuntimesResponse.parse([{ ...runtime, gpu: true }])).toEqual([runtime]);
    expect(RuntimesResponse.parse([])).toEqual([]);
  });

  it.each<[string, unknown]>([
    ["no packages", { packages: undefined }],
    ["a package without a version", { packages: [{ name: "numpy" }] }],
    ["no maxima", { limits: { defaults: limits } }],
    ["a limit of zero", { limits: { defaults: limits, maxima: { ...limits, memoryMb: 0 } } }],
    ["an isolation it does not know", { isolation: "vm" }],
  ])("rejects a runtime with %s", (_name, patch) => {
    expect(RuntimesResponse.safeParse([{ ...runtime, ...(patch as object) }]).success).toBe(false);
  });
});
