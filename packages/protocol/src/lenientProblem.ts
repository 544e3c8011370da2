import * as z from "zod/mini";

export const ProblemIssue = z.object({
  // A check rather than a union of string and number: the same test, without the union's code
  // in a client's bundle.
  path: z.array(
    z.custom<string | number>((value) => typeof value === "string" || typeof value === "number"),
  ),
  message: z.string(),
});
export type ProblemIssue = z.infer<typeof ProblemIssue>;

/** Every field of a problem but `code`, shared by the exact and the lenient schema. */
export const problemFields = {
  type: z.string(),
  title: z.string(),
  status: z.int(),
  detail: z.string(),
  /** Schema issues of an `invalid_request`. */
  issues: z.optional(z.array(ProblemIssue)),
  /** Seconds to wait, for `rate_limited` and `busy` (also sent as `Retry-After`). */
  retryAfter: z.optional(z.number()),
};

/**
 * A problem as a client reads it: `code` may be one a newer server added. A client keeps it as
 * sent (and still has `status`, `title` and `detail` to go by).
 */
export const LenientProblem = z.object({
  ...problemFields,
  code: z.string({ error: "code must be a string" }),
});
export type LenientProblem = z.infer<typeof LenientProblem>;
