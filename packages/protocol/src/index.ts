export { FEATURES, type Feature, HEADERS, MEDIA_TYPES, PROTOCOL_VERSION } from "./constants";
export { ExecuteRequest, ExecuteResponse } from "./execute";
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
export {
  createProblem,
  ERROR_STATUS,
  ErrorCode,
  Problem,
  problemType,
} from "./problem";
export { describePathProblem, MAX_PATH_LENGTH, RelativePath } from "./relativePath";
export { ExitEvent, LenientRunEvent, RunEvent } from "./runEvent";
export { ReturnFiles, RunFile, RunFiles } from "./runFile";
export { RunLimits } from "./runLimits";
export { RunRequest, StdinRequest } from "./runRequest";
export { RunResult, RunStatus } from "./runResult";
export {
  RuntimeDescription,
  RuntimeLimits,
  RuntimePackage,
  RuntimesResponse,
} from "./runtimes";
export { SessionCreated } from "./sessionCreated";
export { CreateSessionRequest, SessionRunRequest } from "./sessions";
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
