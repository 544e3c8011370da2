import { MechaError, type MechaErrorOptions } from "./MechaError";

/** No backend could run the code: the server reported `unavailable`, or a fallback cannot run here. */
export class UnavailableError extends MechaError {
  override readonly name = "UnavailableError";
  declare readonly code: "unavailable";

  constructor(message: string, options?: MechaErrorOptions) {
    super("unavailable", message, options);
  }
}
