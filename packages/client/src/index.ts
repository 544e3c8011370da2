export type {
  ErrorCode,
  HealthResponse,
  Problem,
  RunEvent,
  RunRequest,
  RunResult,
  RunStatus,
} from "@mecha/protocol";
export type {
  Backend,
  BackendKind,
  BackendRun,
  BackendRunResult,
  BackendStartOptions,
  ClientRunEvent,
  ClientRunResult,
  ClientRunStatus,
  StdinOptions,
} from "./backend";
export type {
  CircuitPhase,
  ClientState,
  ConnectionError,
  ConnectionErrorKind,
  ConnectionStatus,
} from "./circuit";
export type {
  MechaClient,
  RunHandle,
  RunOptions,
  StartOptions,
} from "./createClient";
export { createClient } from "./createClient";
export { AbortedError } from "./errors/AbortedError";
export { BusyError } from "./errors/BusyError";
export { HttpError } from "./errors/HttpError";
export { InvalidResponseError } from "./errors/InvalidResponseError";
export { isMechaError } from "./errors/isMechaError";
export type {
  MechaErrorCode,
  MechaErrorOptions,
  MechaProblem,
  MechaRequest,
  MechaResponse,
} from "./errors/MechaError";
export { MechaError } from "./errors/MechaError";
export { NetworkError } from "./errors/NetworkError";
export { RateLimitedError } from "./errors/RateLimitedError";
export { TimeoutError } from "./errors/TimeoutError";
export { UnavailableError } from "./errors/UnavailableError";
export type { MockOutput, MockResponder } from "./mockBackend";
export { createMockBackend, echoLiteralPrints, MOCK_NOTICE } from "./mockBackend";
export type { FallbackKind } from "./planBackends";
export type {
  BrowserBackendOption,
  ClientOptions,
  FallbackOption,
  HealthOptions,
  RetryOptions,
} from "./resolveOptions";
export type { FetchFunction, HeadersOption } from "./serverBackend";
export type { Timers } from "./timers";
