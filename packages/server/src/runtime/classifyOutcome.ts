import type { RunError, RunStatus } from "@mecha/protocol";
import { signalName } from "./signals";

/** What ended a run before its program did. */
export type StopReason = "cancelled" | "timed_out" | "output_exceeded";

/** How the program's first process ended, as the kernel reported it. */
export interface ProgramExit {
  code: number | null;
  signal: string | null;
}

export interface OutcomeFacts {
  /** Null when the program never reported an end (it was killed, or never started). */
  exit: ProgramExit | null;
  reason: StopReason | null;
  /** The kernel killed a process of the run for memory (the cgroup's OOM killer). */
  oomKilled: boolean;
  /** The run's Windows job object refused an allocation past its memory limit. */
  memoryRefused?: boolean;
  /** The uncaught exception the program described, if it did. */
  error: RunError | undefined;
}

export interface Classified {
  status: RunStatus;
  exitCode: number | null;
  signal: string | null;
  error?: RunError;
}

/**
 * A run's status from what the kernel said and what ended it: a stop the server made wins;
 * then the out-of-memory killer, a job object's memory limit or an uncaught MemoryError; then
 * the exit code. The program's
 * own description of its error is kept only when its exit status says it failed with one (1).
 */
export function classifyOutcome({
  exit,
  reason,
  oomKilled,
  memoryRefused = false,
  error,
}: OutcomeFacts): Classified {
  if (reason) return { status: reason, exitCode: null, signal: "SIGKILL" };
  let exitCode = exit?.code ?? null;
  let signal = exit?.signal ?? (exit ? null : "SIGKILL");
  // A shell-style status (128 + n) from a process the OOM killer ended.
  if (oomKilled && exitCode !== null && exitCode > 128) {
    signal = signalName(exitCode - 128);
    exitCode = null;
  }
  const described = exitCode === 1 ? error : undefined;
  const memoryExceeded = oomKilled || memoryRefused || described?.type === "MemoryError";
  return {
    status: memoryExceeded ? "memory_exceeded" : exitCode === 0 ? "succeeded" : "failed",
    exitCode,
    signal,
    ...(described ? { error: described } : {}),
  };
}
