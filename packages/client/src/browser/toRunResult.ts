import type { Display, RunResult, RunSession, RunStatus } from "@mecha/protocol";
import type { RunOutcome } from "./workerProtocol";

/** Why the page ended a run before the program did. */
export type StopReason = "cancelled" | "timed_out" | "output_exceeded";

export interface RunRecord {
  id: string;
  stdout: string;
  stderr: string;
  /** Rich output, in order (a session's final expressions). */
  displays?: Display[] | undefined;
  truncated: boolean;
  /** How the worker said the program ended; absent when the worker was terminated. */
  outcome?: RunOutcome | undefined;
  stopReason?: StopReason | undefined;
  /** The page's own measure, for runs the worker could not report on. */
  durationMs: number;
  /** For a session's run: whether the session outlived it. */
  session?: RunSession | undefined;
}

const OUT_OF_MEMORY =
  /out of memory|memory access out of bounds|cannot enlarge memory|allocation failed/i;

function statusOf(record: RunRecord): RunStatus {
  const { outcome, stopReason } = record;
  if (stopReason) return stopReason;
  if (!outcome) return "failed";
  if (outcome.error?.type === "MemoryError") return "memory_exceeded";
  if (outcome.crashed && OUT_OF_MEMORY.test(outcome.crashed)) return "memory_exceeded";
  return outcome.exitCode === 0 && !outcome.crashed ? "succeeded" : "failed";
}

/**
 * The protocol result of a run in the browser. A stop by the page (cancel, time or output
 * limit) wins over how the program ended, as on the server. Nothing is invented: there is no
 * signal, and CPU time and memory are not measured in a browser, so they are null.
 */
export function toRunResult(record: RunRecord): RunResult {
  const { outcome, stopReason } = record;
  const error = stopReason ? undefined : outcome?.error;
  const durationMs = outcome && !stopReason ? outcome.durationMs : record.durationMs;
  return {
    id: record.id,
    language: "python",
    status: statusOf(record),
    exitCode: stopReason || !outcome ? null : outcome.exitCode,
    signal: null,
    stdout: record.stdout,
    stderr: record.stderr,
    truncated: record.truncated || Boolean(outcome?.truncated),
    durationMs: Math.round(Math.max(0, durationMs) * 100) / 100,
    cpuTimeMs: null,
    memoryKb: null,
    ...(error ? { error } : {}),
    ...(record.displays?.length ? { displays: record.displays } : {}),
    ...(record.session ? { session: record.session } : {}),
  };
}
