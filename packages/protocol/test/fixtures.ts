import { type HealthResponse, type Limits, PROTOCOL_VERSION, type RunResult } from "../src/index";

/** A result as a first-release server sends it: no field added since. */
export const result = {
  id: "r1",
  language: "python",
  status: "succeeded",
  exitCode: 0,
  signal: null,
  stdout: "",
  stderr: "",
  truncated: false,
  durationMs: 3,
  cpuTimeMs: 2,
  memoryKb: 9000,
} as const satisfies RunResult;

/** A health body as a first-release server sends it. */
export const health = {
  status: "ok",
  version: "0.1.0",
  protocol: PROTOCOL_VERSION,
  runtimes: [{ language: "python", version: "3.11.2", isolation: "sandbox" }],
  capacity: { running: 0, queued: 0, maxConcurrent: 4, maxQueued: 16 },
  uptimeMs: 10,
} as const satisfies HealthResponse;

export const limits = {
  timeoutMs: 10_000,
  memoryMb: 256,
  outputBytes: 1_048_576,
} as const satisfies Limits;
