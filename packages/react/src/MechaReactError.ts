/** Codes of errors thrown by `@mecha/react`. */
export type MechaReactErrorCode = "missing_provider" | "invalid_props";

/** Thrown when the components or hooks are used in a way that cannot work. */
export class MechaReactError extends Error {
  override readonly name = "MechaReactError" as const;
  readonly code: MechaReactErrorCode;

  constructor(code: MechaReactErrorCode, message: string) {
    super(message);
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
