/**
 * Codes of errors thrown by `@mecha/react`: `missing_provider` and `invalid_props` for uses that
 * cannot work; `session_lost` and `session_closed` for a run in a `useSession` session that can
 * no longer take one (`restart()` opens a new session).
 */
export type MechaReactErrorCode =
  | "missing_provider"
  | "invalid_props"
  | "session_lost"
  | "session_closed";

/** Thrown when the components or hooks are used in a way that cannot work. */
export class MechaReactError extends Error {
  override readonly name = "MechaReactError" as const;
  readonly code: MechaReactErrorCode;

  constructor(code: MechaReactErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True for a {@link MechaReactError}, also across realms (iframes, duplicated bundles). */
export function isMechaReactError(error: unknown): error is MechaReactError {
  return (
    typeof error === "object" &&
    error !== null &&
    (error as { name?: unknown }).name === "MechaReactError"
  );
}
