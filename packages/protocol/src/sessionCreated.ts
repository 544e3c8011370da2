import * as z from "zod/mini";

/** `2030-01-01T00:10:00.000Z`, `2030-01-01T02:10:00+02:00`. */
const ISO_DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/;

/** Body of `POST /sessions` (HTTP 201). */
export const SessionCreated = z.object({
  id: z.string(),
  /** When the session expires if left idle, as an ISO 8601 date-time. */
  expiresAt: z.string().check(
    z.refine((value) => ISO_DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)), {
      error: "expiresAt must be an ISO 8601 date-time",
    }),
  ),
});
export type SessionCreated = z.infer<typeof SessionCreated>;
