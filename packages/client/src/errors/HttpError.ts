import { MechaError, type MechaErrorOptions } from "./MechaError";

/** The server answered with an error status; `problem` holds its problem body when it sent one. */
export class HttpError extends MechaError {
  override readonly name = "HttpError";
  declare readonly code: "http";

  constructor(message: string, options?: MechaErrorOptions) {
    super("http", message, options);
  }
}
