import * as z from "zod/mini";
import { positiveInt } from "./internal/messages";
import { Language } from "./language";
import { RunRequest } from "./runRequest";

/** Body of `POST /sessions`. */
export const CreateSessionRequest = z.object(
  {
    language: Language,
    /** Limits of each run in the session; memory also holds across the session's life. */
    limits: RunRequest.shape.limits,
    /** Files written into the session's working directory before its first run. */
    files: RunRequest.shape.files,
    /** Idle time after which the session ends; clamped to the server's maximum. */
    idleTimeoutMs: z.optional(positiveInt("idleTimeoutMs", "milliseconds")),
  },
  { error: "a session request must be a JSON object {language, …}" },
);
export type CreateSessionRequest = z.infer<typeof CreateSessionRequest>;

/** Body of `POST /sessions/{id}/runs`: answered as `POST /runs` is. */
export const SessionRunRequest = z.object(
  {
    code: RunRequest.shape.code,
    stdin: RunRequest.shape.stdin,
    files: RunRequest.shape.files,
    limits: RunRequest.shape.limits,
    returnFiles: RunRequest.shape.returnFiles,
  },
  { error: "a session run request must be a JSON object {code, …}" },
);
export type SessionRunRequest = z.infer<typeof SessionRunRequest>;
