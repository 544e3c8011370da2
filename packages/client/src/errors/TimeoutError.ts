import { MechaError, type MechaErrorOptions } from "./MechaError";

/** A request got no answer within `timeoutMs`, or a run outlived its time limit plus the margin. */
export class TimeoutError extends MechaError {
  override readonly name = "TimeoutError";
  declare readonly code: "timeout";

  constructor(message: string, options?: MechaErrorOptions) {
    super("timeout", message, options);
  }
}
