import { MechaError, type MechaErrorOptions } from "./MechaError";

/** The caller's `signal` was aborted, or the client was disposed. */
export class AbortedError extends MechaError {
  override readonly name = "AbortedError";
  declare readonly code: "aborted";

  constructor(message: string, options?: MechaErrorOptions) {
    super("aborted", message, options);
  }
}
