/**
 * `@mecha/protocol/responses`: what a client needs to read a server's answers — the response
 * and stream schemas and the lenient parse helpers — without the request schemas (and their
 * path and file checks) or the exact `RunResult` and `RunStatus` (a client reads results with
 * `LenientRunResult`), so a client's bundle carries only these. Everything here is also
 * exported from `@mecha/protocol`; what only a session needs is in `@mecha/protocol/sessions`.
 */
export { FEATURES, type Feature, HEADERS, MEDIA_TYPES, PROTOCOL_VERSION } from "./constants";
export { Capacity, HealthResponse, HealthStatus, Isolation, RuntimeInfo } from "./health";
export { isRunStatus } from "./isRunStatus";
export { Language } from "./language";
export { LenientProblem, ProblemIssue } from "./lenientProblem";
export {
  Display,
  DisplayData,
  LenientRunResult,
  ReturnedFile,
  RunError,
  RunPending,
  RunSession,
  SessionState,
} from "./lenientRunResult";
export { Limits } from "./limits";
export { type ParsedRunEvent, parseRunEvent } from "./parseRunEvent";
export type { ErrorCode, Problem } from "./problem";
export type { LenientRunEvent } from "./runEvent";
export {
  RuntimeDescription,
  RuntimeLimits,
  RuntimePackage,
  RuntimesResponse,
} from "./runtimes";
export {
  DisplayEvent,
  InputEvent,
  LenientExitEvent,
  RUN_EVENT_TYPES,
  StartedEvent,
  StderrEvent,
  StdoutEvent,
  UnknownEvent,
} from "./streamEvents";
