import * as z from "zod/mini";
import { expected, text } from "./internal/messages";
import { Language } from "./language";
import { ReturnFiles, RunFiles } from "./runFile";
import { RunLimits } from "./runLimits";

/** The most command-line arguments a request may pass. */
const MAX_ARGS = 100;

/** Body of `POST /runs`. */
export const RunRequest = z.object(
  {
    language: Language,
    code: text("code", "the program's source, a string"),
    /** Standard input given up front. Without it, a JSON request's stdin is empty and closed. */
    stdin: z.optional(text("stdin")),
    files: z.optional(RunFiles),
    args: z.optional(
      z
        .array(text("each argument"), { error: expected("args", "a list of strings") })
        .check(z.maxLength(MAX_ARGS, { error: `args may hold at most ${MAX_ARGS} arguments` })),
    ),
    limits: z.optional(RunLimits),
    /** Files to send back in `RunResult.files`, as glob patterns (`["*.png", "out/*.csv"]`). */
    returnFiles: z.optional(ReturnFiles),
  },
  { error: "a run request must be a JSON object {language, code, …}" },
);
export type RunRequest = z.infer<typeof RunRequest>;

/** Body of `POST /runs/{id}/stdin`. */
export const StdinRequest = z.object(
  {
    data: text("data", "the text to send, a string"),
    /** Close the program's stdin after `data`. */
    eof: z.optional(z.boolean({ error: expected("eof", "true or false") })),
  },
  { error: "a stdin request must be a JSON object {data, eof?}" },
);
export type StdinRequest = z.infer<typeof StdinRequest>;
