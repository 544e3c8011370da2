import { MechaError, type MechaErrorOptions } from "./MechaError";

/** The server answered 429 `rate_limited` and retries did not help. */
export class RateLimitedError extends MechaError {
  override readonly name = "RateLimitedError";
  declare readonly code: "rate_limited";

  constructor(message: string, options?: MechaErrorOptions) {
    super("rate_limited", message, options);
  }
}
