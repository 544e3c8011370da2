import { createProblem, MEDIA_TYPES } from "@mecha/protocol";
import { HttpError } from "./httpError";

/** The one place a failure becomes an HTTP response (RFC 9457 problem details). */
export function problemResponse(error: unknown, headers: Headers = new Headers()): Response {
  const failure =
    error instanceof HttpError
      ? error
      : new HttpError("internal", "The server failed to handle the request; see its log.");
  const { issues, retryAfter, allow } = failure.extra;
  const body = createProblem(failure.code, failure.detail, {
    ...(issues ? { issues } : {}),
    ...(retryAfter !== undefined ? { retryAfter } : {}),
  });
  headers.set("content-type", MEDIA_TYPES.problem);
  headers.set("cache-control", "no-store");
  if (retryAfter !== undefined)
    headers.set("retry-after", String(Math.max(1, Math.ceil(retryAfter))));
  if (allow) headers.set("allow", allow);
  return new Response(JSON.stringify(body), { status: body.status, headers });
}
