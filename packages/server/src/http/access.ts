import { HttpError } from "../httpError";
import type { NormalizedOptions } from "../options";
import type { RequestLimiter } from "../rateLimiter";

/**
 * Asks the host's `authorize` about a request: throws 401/403 when it says no; returns the
 * principal the request acts for when it names one (runs and sessions then belong to it).
 */
export async function authorize(
  request: Request,
  opts: NormalizedOptions,
): Promise<string | undefined> {
  if (!opts.authorize) return undefined;
  const verdict = await opts.authorize(request);
  if (verdict === true || verdict === undefined) return undefined;
  if (typeof verdict === "string") return verdict;
  if (verdict === false) throw new HttpError("forbidden", "This request is not allowed.");
  if ("principal" in verdict) return verdict.principal;
  throw new HttpError(
    verdict.status === 401 ? "unauthorized" : "forbidden",
    verdict.detail ??
      (verdict.status === 401 ? "Authentication required." : "This request is not allowed."),
  );
}

/** Counts a request against the `rateLimit` option; 429 `rate_limited` over it. */
export async function rateLimit(
  request: Request,
  opts: NormalizedOptions,
  limiter: RequestLimiter | null,
): Promise<void> {
  if (!limiter || !opts.rateLimit) return;
  const key = await opts.rateLimit.key(request);
  const wait = await limiter.hit(key);
  if (wait > 0) {
    throw new HttpError("rate_limited", `Too many runs; try again in ${wait} s.`, {
      retryAfter: wait,
    });
  }
}
