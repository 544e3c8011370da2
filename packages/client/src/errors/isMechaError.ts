import type { ErrorCode } from "@mecha/protocol";
import { MECHA_ERROR, type MechaError, type MechaErrorCode } from "./MechaError";

/**
 * True for errors thrown by `@mecha/client`, optionally of one `code`: the client's own (its
 * `code`), or the server's problem code (`problem.code`, e.g. `session_busy`, `not_found`).
 * Checks a brand rather than `instanceof`, so it also works across realms (iframes, workers)
 * and duplicate copies.
 *
 * @example
 * if (isMechaError(error, "rate_limited")) wait(error.retryAfterMs);
 * if (isMechaError(error, "session_lost")) session = await createSession(client);
 */
export function isMechaError(
  value: unknown,
  code?: MechaErrorCode | ErrorCode,
): value is MechaError {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { [MECHA_ERROR]?: unknown })[MECHA_ERROR] === true &&
    (code === undefined ||
      (value as MechaError).code === code ||
      (value as MechaError).problem?.code === code)
  );
}
