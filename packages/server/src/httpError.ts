import type { ErrorCode, ProblemIssue } from "@mecha/protocol";

/**
 * A failure that becomes one problem response. Thrown anywhere in the handler; turned into
 * `application/problem+json` in exactly one place (`problemResponse`).
 */
export class HttpError extends Error {
  override readonly name = "HttpError";

  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly extra: { issues?: ProblemIssue[]; retryAfter?: number; allow?: string } = {},
  ) {
    super(detail);
  }
}
