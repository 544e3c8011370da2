import { MechaError, type MechaErrorOptions } from "./MechaError";

/** The server could not be reached, or the connection broke before the run ended. */
export class NetworkError extends MechaError {
  override readonly name = "NetworkError";
  declare readonly code: "network";

  constructor(message: string, options?: MechaErrorOptions) {
    super("network", message, options);
  }
}
