/** The protocol version this package describes; `GET /health` reports it as `protocol`. */
export const PROTOCOL_VERSION = 1 as const;

export const MEDIA_TYPES = {
  json: "application/json",
  ndjson: "application/x-ndjson",
  problem: "application/problem+json",
} as const;

/** Header names the protocol gives a meaning to. */
export const HEADERS = {
  /**
   * On `POST /runs` and `POST /sessions/{id}/runs`: a repeat with the same key within the
   * server's retention window answers the same run instead of executing it again.
   */
  idempotencyKey: "Idempotency-Key",
  /** Seconds to wait, on `429 rate_limited` and `503 busy`. */
  retryAfter: "Retry-After",
} as const;

/**
 * Names a server may list in `GET /health`'s `features`, for what is switched on. A client reads
 * `features` as plain strings: a newer server may list names this version does not know.
 */
export const FEATURES = [
  "displays",
  "files",
  "sessions",
  "mcp",
  "resume",
  "metrics",
  "redis",
  "runtimes",
] as const;
export type Feature = (typeof FEATURES)[number];
