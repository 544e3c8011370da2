import type { RunStatus } from "./runResult";

export const RUN_STATUSES = [
  "succeeded",
  "failed",
  "timed_out",
  "memory_exceeded",
  "output_exceeded",
  "cancelled",
  // The runner executing the run disappeared; the run is never executed twice.
  "lost",
] as const;

/** Whether a `status` is one this version knows; a client shows any other verbatim. */
export function isRunStatus(status: string): status is RunStatus {
  return (RUN_STATUSES as readonly string[]).includes(status);
}
