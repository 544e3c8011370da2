import { MECHA_ERROR, type MechaError, type MechaErrorCode } from "./MechaError";

/**
 * True for errors thrown by `@mecha/client`, optionally of one `code`. Checks a brand rather
 * than `instanceof`, so it also works across realms (iframes, workers) and duplicate copies.
 *
 * @example
 * if (isMechaError(error, "rate_limited")) wait(error.retryAfterMs);
 */
export function isMechaError(value: unknown, code?: MechaErrorCode): value is MechaError {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { [MECHA_ERROR]?: unknown })[MECHA_ERROR] === true &&
    (code === undefined || (value as MechaError).code === code)
  );
}
