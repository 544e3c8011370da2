import * as z from "zod/mini";
import { type ProblemIssue, problemFields } from "./lenientProblem";

/** Machine-readable codes of problem responses. */
export const ErrorCode = z.enum([
  "invalid_request",
  "unauthorized",
  "forbidden",
  "not_found",
  "method_not_allowed",
  "run_finished",
  "session_busy",
  "session_lost",
  "events_expired",
  "payload_too_large",
  "stdin_too_large",
  "unsupported_media_type",
  "rate_limited",
  "busy",
  "unavailable",
  "internal",
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** HTTP status of each problem code. */
export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  run_finished: 409,
  /** A session runs one program at a time. */
  session_busy: 409,
  /** The session's process died (out of memory, killed, its runner gone); its state is gone. */
  session_lost: 410,
  /** `GET /runs/{id}/events?after=SEQ` asked for events no longer kept. */
  events_expired: 410,
  payload_too_large: 413,
  /** A run's buffered standard input is over its cap. */
  stdin_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  unavailable: 503,
  busy: 503,
  internal: 500,
};

const TITLES: Readonly<Record<ErrorCode, string>> = {
  invalid_request: "Invalid request",
  unauthorized: "Unauthorized",
  forbidden: "Forbidden",
  not_found: "Not found",
  method_not_allowed: "Method not allowed",
  run_finished: "Run already finished",
  session_busy: "Session busy",
  session_lost: "Session lost",
  events_expired: "Events expired",
  payload_too_large: "Payload too large",
  stdin_too_large: "Standard input too large",
  unsupported_media_type: "Unsupported media type",
  rate_limited: "Too many requests",
  busy: "Server busy",
  unavailable: "Service unavailable",
  internal: "Internal server error",
};

/** RFC 9457 problem details (`application/problem+json`). */
export const Problem = z.object({ ...problemFields, code: ErrorCode });
export type Problem = z.infer<typeof Problem>;

/** The `type` URI of a problem code, e.g. `urn:mecha:problem:busy`. */
export function problemType(code: ErrorCode): string {
  return `urn:mecha:problem:${code}`;
}

/** Builds an RFC 9457 problem body for a code, with its standard title and HTTP status. */
export function createProblem(
  code: ErrorCode,
  detail: string,
  extra: { issues?: ProblemIssue[]; retryAfter?: number } = {},
): Problem {
  return {
    type: problemType(code),
    title: TITLES[code],
    status: ERROR_STATUS[code],
    detail,
    code,
    ...extra,
  };
}
