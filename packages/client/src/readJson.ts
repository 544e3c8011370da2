import { describeIssues } from "./describeIssues";
import { InvalidResponseError } from "./errors/InvalidResponseError";
import type { MechaErrorOptions, MechaRequest } from "./errors/MechaError";
import type { Attempt } from "./serverBackend";

type ZodLikeError = Parameters<typeof describeIssues>[0];

interface Schema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: ZodLikeError };
}

/** A 2xx answer whose body is not `what` the protocol says, with the first schema issues. */
export function unexpected(
  attempt: Pick<MechaErrorOptions, "request" | "response" | "attempts"> & { request: MechaRequest },
  what: string,
  error: ZodLikeError,
): InvalidResponseError {
  return new InvalidResponseError(
    `Unexpected ${what} from ${attempt.request.url} (${describeIssues(error)}).`,
    { ...attempt, cause: error },
  );
}

/**
 * A `read` for a call whose 2xx answer is a JSON body: validated with `schema` (a mismatch is an
 * `InvalidResponseError` naming `what` was expected); any other status goes to `fail`.
 */
export function readJson<T>(
  fail: (response: Response, attempt: Attempt) => Promise<never>,
  schema: Schema<T>,
  what: string,
): (response: Response, attempt: Attempt) => Promise<T> {
  return async (response, attempt) => {
    if (!response.ok) await fail(response, attempt);
    const parsed = schema.safeParse(await response.json().catch(() => undefined));
    if (parsed.success) return parsed.data;
    throw unexpected(attempt, what, parsed.error);
  };
}
