import { describeIssues } from "./describeIssues";
import { InvalidResponseError } from "./errors/InvalidResponseError";
import type { Attempt } from "./serverBackend";

interface Schema<T> {
  safeParse(
    value: unknown,
  ): { success: true; data: T } | { success: false; error: Parameters<typeof describeIssues>[0] };
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
    const { method, url } = attempt.request;
    throw new InvalidResponseError(
      `${method} ${url} did not return ${what} (${describeIssues(parsed.error)}).`,
      { ...attempt, cause: parsed.error },
    );
  };
}
