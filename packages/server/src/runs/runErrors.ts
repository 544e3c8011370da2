import { HttpError } from "../httpError";

/** The failures a run's routes answer with, worded once for every registry. */
export const runErrors = {
  notFound: (id: string) => new HttpError("not_found", `No run with id ${JSON.stringify(id)}.`),
  finished: (id: string) => new HttpError("run_finished", `Run ${id} has already finished.`),
  stdinClosed: (id: string) =>
    new HttpError(
      "run_finished",
      `The standard input of run ${id} is closed (it was sent with eof, or the run was started without streaming).`,
    ),
  stdinTooLarge: (id: string, held: number, size: number, max: number) =>
    new HttpError(
      "stdin_too_large",
      `Run ${id} holds ${held} bytes of standard input its program has not read; ` +
        `${size} more would pass the ${max}-byte limit. Nothing was written: ` +
        "send it again once the program has read some, or in smaller parts.",
    ),
  eventsExpired: (id: string, first: number) =>
    new HttpError(
      "events_expired",
      `Run ${id}'s events before seq ${first} are no longer kept; read its result with GET /runs/${id}.`,
    ),
  afterUnsent: (id: string, after: number, last: number) =>
    new HttpError(
      "invalid_request",
      `after must be the seq of an event already received: run ${id} has sent ${
        last < 0 ? "none yet" : `seq 0 to ${last}`
      }, not ${after}.`,
    ),
  keyReused: (key: string) =>
    new HttpError(
      "invalid_request",
      `Idempotency-Key ${JSON.stringify(key)} was used for a different request; use a new key for a new run.`,
    ),
  shuttingDown: () =>
    new HttpError("unavailable", "The server is shutting down.", { retryAfter: 5 }),
};
