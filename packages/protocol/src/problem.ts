import { ERROR_STATUS, type ErrorCode, type Problem, type ProblemIssue } from "./schemas";

const TITLES: Readonly<Record<ErrorCode, string>> = {
  invalid_request: "Invalid request",
  unauthorized: "Unauthorized",
  forbidden: "Forbidden",
  not_found: "Not found",
  method_not_allowed: "Method not allowed",
  run_finished: "Run already finished",
  payload_too_large: "Payload too large",
  unsupported_media_type: "Unsupported media type",
  rate_limited: "Too many requests",
  busy: "Server busy",
  unavailable: "Service unavailable",
  internal: "Internal server error",
};

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
