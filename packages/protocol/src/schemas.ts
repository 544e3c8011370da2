import * as z from "zod/mini";

/** The protocol version this package describes; `GET /health` reports it as `protocol`. */
export const PROTOCOL_VERSION = 1 as const;

/** Languages a server can run. Protocol v1 knows one. */
export const Language = z.enum(["python"]);
export type Language = z.infer<typeof Language>;

/** How strongly a runtime isolates programs: a bubblewrap sandbox, or process limits only. */
export const Isolation = z.enum(["sandbox", "process"]);
export type Isolation = z.infer<typeof Isolation>;

const nonNegativeInt = () => z.int().check(z.nonnegative());
const positiveInt = () => z.int().check(z.positive());

export const RunFile = z.object({
  /** A relative path inside the run's working directory, e.g. `"utils/helpers.py"`. */
  path: z.string().check(z.minLength(1), z.maxLength(255)),
  content: z.string(),
});
export type RunFile = z.infer<typeof RunFile>;

export const RunLimits = z.object({
  /** Wall-clock limit in milliseconds. Clamped to the server's maximum. */
  timeoutMs: z.optional(positiveInt()),
  /** Memory (address space / cgroup) limit in MiB. Clamped to the server's maximum. */
  memoryMb: z.optional(positiveInt()),
  /** stdout + stderr cap in bytes; reaching it ends the run as `output_exceeded`. */
  outputBytes: z.optional(positiveInt()),
});
export type RunLimits = z.infer<typeof RunLimits>;

/** Body of `POST /runs`. */
export const RunRequest = z.object({
  language: Language,
  code: z.string(),
  /** Standard input given up front. Without it, a JSON request's stdin is empty and closed. */
  stdin: z.optional(z.string()),
  files: z.optional(z.array(RunFile).check(z.maxLength(100))),
  args: z.optional(z.array(z.string()).check(z.maxLength(100))),
  limits: z.optional(RunLimits),
});
export type RunRequest = z.infer<typeof RunRequest>;

export const RunStatus = z.enum([
  "succeeded",
  "failed",
  "timed_out",
  "memory_exceeded",
  "output_exceeded",
  "cancelled",
]);
export type RunStatus = z.infer<typeof RunStatus>;

/** An uncaught exception, with `line` in the user's own code (the innermost frame there). */
export const RunError = z.object({
  type: z.string(),
  message: z.string(),
  line: z.nullable(positiveInt()),
  traceback: z.string(),
});
export type RunError = z.infer<typeof RunError>;

/** How a run ended. A program that fails is still a result: the run happened. */
export const RunResult = z.object({
  id: z.string(),
  language: Language,
  status: RunStatus,
  /** The process's exit code, or null when a signal ended it. */
  exitCode: z.nullable(z.int()),
  /** The signal that ended the process (e.g. `"SIGKILL"`), or null. */
  signal: z.nullable(z.string()),
  stdout: z.string(),
  stderr: z.string(),
  /** True when output was cut at the output limit. */
  truncated: z.boolean(),
  durationMs: z.number().check(z.nonnegative()),
  /** CPU time from the kernel's accounting, or null where the platform cannot measure it. */
  cpuTimeMs: z.nullable(z.number().check(z.nonnegative())),
  /** Peak memory in KiB from the kernel's accounting, or null where it cannot be measured. */
  memoryKb: z.nullable(z.number().check(z.nonnegative())),
  error: z.optional(RunError),
});
export type RunResult = z.infer<typeof RunResult>;

/** One line of an `application/x-ndjson` run stream, discriminated by `type`. */
export const StartedEvent = z.object({ type: z.literal("started"), id: z.string() });
export const StdoutEvent = z.object({ type: z.literal("stdout"), data: z.string() });
export const StderrEvent = z.object({ type: z.literal("stderr"), data: z.string() });
/** The program called `input()` and waits for `POST /runs/{id}/stdin`. */
export const InputEvent = z.object({ type: z.literal("input"), prompt: z.string() });
export const ExitEvent = z.object({ type: z.literal("exit"), result: RunResult });
export const RunEvent = z.discriminatedUnion("type", [
  StartedEvent,
  StdoutEvent,
  StderrEvent,
  InputEvent,
  ExitEvent,
]);
export type StartedEvent = z.infer<typeof StartedEvent>;
export type StdoutEvent = z.infer<typeof StdoutEvent>;
export type StderrEvent = z.infer<typeof StderrEvent>;
export type InputEvent = z.infer<typeof InputEvent>;
export type ExitEvent = z.infer<typeof ExitEvent>;
export type RunEvent = z.infer<typeof RunEvent>;

/** Body of `POST /runs/{id}/stdin`. */
export const StdinRequest = z.object({
  data: z.string(),
  /** Close the program's stdin after `data`. */
  eof: z.optional(z.boolean()),
});
export type StdinRequest = z.infer<typeof StdinRequest>;

export const RuntimeInfo = z.object({
  language: Language,
  version: z.string(),
  isolation: Isolation,
});
export type RuntimeInfo = z.infer<typeof RuntimeInfo>;

export const Capacity = z.object({
  running: nonNegativeInt(),
  queued: nonNegativeInt(),
  maxConcurrent: positiveInt(),
  maxQueued: nonNegativeInt(),
});
export type Capacity = z.infer<typeof Capacity>;

export const HealthStatus = z.enum(["ok", "degraded", "unavailable"]);
export type HealthStatus = z.infer<typeof HealthStatus>;

/** Body of `GET /health` (HTTP 200, or 503 with `status: "unavailable"`). */
export const HealthResponse = z.object({
  status: HealthStatus,
  version: z.string(),
  protocol: z.literal(PROTOCOL_VERSION),
  runtimes: z.array(RuntimeInfo),
  capacity: Capacity,
  uptimeMs: z.number().check(z.nonnegative()),
});
export type HealthResponse = z.infer<typeof HealthResponse>;

/** Body of the legacy `POST /execute`, the original IDE frontend's contract. */
export const ExecuteRequest = z.object({
  code: z.string(),
  language: z.optional(z.string()),
});
export type ExecuteRequest = z.infer<typeof ExecuteRequest>;

export const ExecuteResponse = z.object({
  success: z.boolean(),
  /** stdout. */
  output: z.string(),
  /** null on success, otherwise stderr (with the traceback) or what went wrong. */
  error: z.nullable(z.string()),
  /** Seconds. */
  execution_time: z.number(),
  /** KiB. */
  memory_used: z.number(),
});
export type ExecuteResponse = z.infer<typeof ExecuteResponse>;

/** Machine-readable codes of problem responses. */
export const ErrorCode = z.enum([
  "invalid_request",
  "unauthorized",
  "forbidden",
  "not_found",
  "method_not_allowed",
  "run_finished",
  "payload_too_large",
  "unsupported_media_type",
  "rate_limited",
  "busy",
  "unavailable",
  "internal",
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** HTTP status of each problem code. */
export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  run_finished: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  unavailable: 503,
  busy: 503,
  internal: 500,
};

export const ProblemIssue = z.object({
  path: z.array(z.union([z.string(), z.number()])),
  message: z.string(),
});
export type ProblemIssue = z.infer<typeof ProblemIssue>;

/** RFC 9457 problem details (`application/problem+json`). */
export const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.int(),
  detail: z.string(),
  code: ErrorCode,
  /** Schema issues of an `invalid_request`. */
  issues: z.optional(z.array(ProblemIssue)),
  /** Seconds to wait, for `rate_limited` and `busy` (also sent as `Retry-After`). */
  retryAfter: z.optional(z.number()),
});
export type Problem = z.infer<typeof Problem>;

export const MEDIA_TYPES = {
  json: "application/json",
  ndjson: "application/x-ndjson",
  problem: "application/problem+json",
} as const;
