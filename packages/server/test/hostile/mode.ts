import { INTERRUPT_GRACE_MS } from "../../src/runtime/session/sessionRun";

/**
 * How the hostile suite's programs are run: as single runs, or each inside a session of its
 * own (test/sessionHostile.test.ts sets `inSessions` before it imports the suite). Where a
 * session's rules differ from a run's, the suite says so through `sessionRules`.
 */
export const runMode = { inSessions: false };

export const sessionRules = {
  /** A session's run ends when its code does: a process it left holding stdout does not hold it. */
  heldOutputEndsRun: () => !runMode.inSessions,
  /** A session's run past its time limit is interrupted, and killed only after this much more. */
  extraStopMs: () => (runMode.inSessions ? INTERRUPT_GRACE_MS : 0),
  /** A session lives across runs: no CPU-time rlimit (each run has its time limit instead). */
  unlimitedRlimits: () => (runMode.inSessions ? ["RLIMIT_AS", "RLIMIT_CPU"] : ["RLIMIT_AS"]),
};
