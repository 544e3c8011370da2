import * as z from "zod/mini";
import { text } from "./internal/messages";
import { RunRequest } from "./runRequest";

/** Body of the legacy `POST /execute`, the original IDE frontend's contract. */
export const ExecuteRequest = z.object(
  {
    code: RunRequest.shape.code,
    language: z.optional(text("language")),
  },
  { error: "the body must be a JSON object {code, language?}" },
);
export type ExecuteRequest = z.infer<typeof ExecuteRequest>;

export const ExecuteResponse = z.object({
  success: z.boolean(),
  /** stdout. */
  output: z.string(),
  /** null on success, otherwise stderr (with the traceback) or what went wrong. */
  error: z.nullable(z.string()),
  /** Seconds. */
  execution_time: z.number(),
  /** KiB. */
  memory_used: z.number(),
});
export type ExecuteResponse = z.infer<typeof ExecuteResponse>;
