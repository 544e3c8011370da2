import type { RunResult } from "@mecha/protocol";
import type { Limits, RunJob, RunOutcome } from "../runtime/types";

/** A result with nothing run: no process, no output, no accounting. */
function unrun(id: string, limits: Limits | undefined): Omit<RunResult, "status"> {
  return {
    id,
    language: "python",
    exitCode: null,
    signal: null,
    stdout: "",
    stderr: "",
    truncated: false,
    durationMs: 0,
    cpuTimeMs: null,
    memoryKb: null,
    ...(limits ? { limits: { ...limits } } : {}),
  };
}

/** The result of a run cancelled while it waited: it never started. */
export function cancelledBeforeStart(job: Pick<RunJob, "id" | "limits" | "sessionId">): RunResult {
  return {
    ...unrun(job.id, job.limits),
    status: "cancelled",
    ...(job.sessionId ? { session: { id: job.sessionId, state: "kept" as const } } : {}),
  };
}

/** A run's result from what its runtime reported. */
export function resultOf(job: RunJob, outcome: RunOutcome): RunResult {
  const { sessionState, ...rest } = outcome;
  return {
    id: job.id,
    language: "python",
    ...rest,
    limits: { ...job.limits },
    ...(job.sessionId && sessionState
      ? { session: { id: job.sessionId, state: sessionState } }
      : {}),
  };
}

/**
 * The result of a run whose executor went away, or whose record did: it did not finish, what
 * became of it is not known, and it is never run again.
 */
export function lostResult(id: string, limits: Limits | undefined, message: string): RunResult {
  return {
    ...unrun(id, limits),
    status: "lost",
    error: { type: "RunnerLost", message, line: null, traceback: "" },
  };
}

/** The result of a run a runner could not read (an API instance and a runner of other versions). */
export function unreadableResult(
  id: string,
  limits: Limits | undefined,
  message: string,
): RunResult {
  return {
    ...unrun(id, limits),
    status: "failed",
    error: { type: "JobUnreadable", message, line: null, traceback: "" },
  };
}
