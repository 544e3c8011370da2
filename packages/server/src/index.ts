export { createHandler } from "./createHandler";
export type { MechaHandler } from "./createHandler";
export { HttpError } from "./httpError";
export { DEFAULT_LIMITS, MAX_LIMITS } from "./options";
export type {
  AuthorizeResult,
  CorsOptions,
  HandlerOptions,
  Limits,
  Logger,
  RateLimitOptions,
} from "./options";
export { findPython } from "./runtime/findPython";
export type { PythonInterpreter } from "./runtime/findPython";
export { createPythonRuntime } from "./runtime/pythonRuntime";
export type { PythonRuntimeOptions, Spawner } from "./runtime/pythonRuntime";
export type {
  RunJob,
  RunOutcome,
  RunSink,
  RunningProgram,
  Runtime,
} from "./runtime/types";
export { VERSION } from "./version";
