import { HttpError } from "../httpError";

/** Why a session ended, as its 410 says. */
export type LostReason = "interpreter" | "runner" | "drained";

const LOST: Record<LostReason, string> = {
  interpreter:
    "its interpreter was killed (out of memory, over a time limit it did not stop at, or ended by its own code)",
  runner:
    "the runner that held it went away (its process or its machine stopped responding) before it ended",
  drained: "the runner that held it was shut down",
};

/** The failures the session routes answer with, worded once for every registry. */
export const sessionErrors = {
  off: (detail = "Sessions are off on this server (maxSessions is 0).") =>
    new HttpError("not_found", detail),
  notFound: (id: string) =>
    new HttpError(
      "not_found",
      `No session ${id}: it never existed, was deleted, or expired after being idle.`,
    ),
  lost: (id: string, reason: LostReason = "interpreter") =>
    new HttpError(
      "session_lost",
      `Session ${id} has ended: ${LOST[reason] ?? LOST.interpreter}, and its state with it. Open a new session.`,
    ),
  busy: (id: string, runId: string) =>
    new HttpError(
      "session_busy",
      `Session ${id} is running ${runId}; a session runs one program at a time. Wait for it to end, or cancel it.`,
    ),
  full: (detail: string) => new HttpError("busy", detail, { retryAfter: 5 }),
};
