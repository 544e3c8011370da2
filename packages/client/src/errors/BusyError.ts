import { MechaError, type MechaErrorOptions } from "./MechaError";

/** The server answered 503 `busy` (its queue is full) and retries did not help. */
export class BusyError extends MechaError {
  override readonly name = "BusyError";
  declare readonly code: "busy";

  constructor(message: string, options?: MechaErrorOptions) {
    super("busy", message, options);
  }
}
