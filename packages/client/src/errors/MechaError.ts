import type { ErrorCode, Problem } from "@mecha/protocol";

/** What went wrong, from the client's point of view. */
export type MechaErrorCode =
  | "network"
  | "timeout"
  | "http"
  | "invalid_response"
  | "aborted"
  | "rate_limited"
  | "busy"
  | "unavailable";

/**
 * The server's problem body (RFC 9457). `code` is one of the protocol's `ErrorCode`s, or one a
 * newer server added, kept as it was sent.
 */
export type MechaProblem = Omit<Problem, "code"> & { readonly code: ErrorCode | (string & {}) };

/** The request an error belongs to. */
export interface MechaRequest {
  readonly method: string;
  readonly url: string;
}

/**
 * The HTTP response an error came with. `headers` holds the headers the client could read,
 * names in lower case (a cross-origin page sees only CORS-safelisted and exposed ones, such
 * as `retry-after`).
 */
export interface MechaResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
}

export interface MechaErrorOptions {
  /** The server's problem body (`application/problem+json`), when it sent one. */
  problem?: MechaProblem | undefined;
  request?: MechaRequest | undefined;
  /** HTTP status of the response, when there was one. */
  status?: number | undefined;
  /** The response's status and headers, when there was a response. */
  response?: MechaResponse | undefined;
  /** How many times the request was sent. */
  attempts?: number | undefined;
  /** How long the server asked the client to wait (`Retry-After`), in milliseconds. */
  retryAfterMs?: number | undefined;
  cause?: unknown;
}

/** The brand `isMechaError` checks; `Symbol.for` makes it the same symbol in every realm. */
export const MECHA_ERROR: unique symbol = /* @__PURE__ */ Symbol.for("mecha.client.error");

/**
 * The base of every error the client throws. `code` says what went wrong; `problem` carries
 * the server's problem body (with its own `code`) when there was one.
 */
export class MechaError extends Error {
  override name = "MechaError";
  readonly [MECHA_ERROR] = true;
  // Declared, not initialised: the constructor sets each one.
  declare readonly code: MechaErrorCode;
  declare readonly problem: MechaProblem | undefined;
  declare readonly request: MechaRequest | undefined;
  declare readonly status: number | undefined;
  /** The response's status and headers (e.g. `retry-after`), when there was a response. */
  declare readonly response: MechaResponse | undefined;
  declare readonly attempts: number;
  declare readonly retryAfterMs: number | undefined;

  constructor(code: MechaErrorCode, message: string, options: MechaErrorOptions = {}) {
    // `Error` takes `cause` from the options when they have one.
    super(message, options);
    this.code = code;
    this.problem = options.problem;
    this.request = options.request;
    this.status = options.status ?? options.response?.status;
    this.response = options.response;
    this.attempts = options.attempts ?? 0;
    this.retryAfterMs = options.retryAfterMs;
  }
}
