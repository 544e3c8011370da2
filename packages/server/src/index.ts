export type { MechaHandler } from "./createHandler";
export { createHandler } from "./createHandler";
export type { MechaRunner, RunnerOptions } from "./createRunner";
export { createRunner } from "./createRunner";
export { HttpError } from "./httpError";
export type {
  AuthorizeResult,
  CorsOptions,
  HandlerOptions,
  Limits,
  Logger,
  RateLimitOptions,
} from "./options";
export { DEFAULT_LIMITS, MAX_LIMITS } from "./options";
export type { QueueOptions, Role } from "./queue/queueOptions";
export type { PythonInterpreter } from "./runtime/findPython";
export { findPython } from "./runtime/findPython";
export type { RuntimeOptions, Spawner } from "./runtime/options";
export type { PythonRuntime } from "./runtime/pythonRuntime";
export { createPythonRuntime } from "./runtime/pythonRuntime";
export type {
  RunJob,
  RunningProgram,
  RunOutcome,
  RunSink,
  Runtime,
} from "./runtime/types";
export { VERSION } from "./version";
