import { MechaError, type MechaErrorOptions } from "./MechaError";

/** The server's answer does not match protocol v1 (malformed JSON, or a body that fails validation). */
export class InvalidResponseError extends MechaError {
  override readonly name = "InvalidResponseError";
  declare readonly code: "invalid_response";

  constructor(message: string, options?: MechaErrorOptions) {
    super("invalid_response", message, options);
  }
}
