import * as z from "zod/mini";
import { expected } from "./internal/messages";
import { Language } from "./language";
import { Limits } from "./limits";

// A client reads results with the schemas here; `RunResult` and `RunStatus`, which only a
// server checks, are built in runResult.ts, so a client's bundle does not carry them.

// A type test rather than z.boolean: the same check, with a schema kind (custom) a client's
// bundle has anyway.
const boolean = () => z.custom<boolean>((value) => typeof value === "boolean");

/** An uncaught exception, with `line` in the user's own code (the innermost frame there). */
export const RunError = z.object({
  type: z.string(),
  message: z.string(),
  line: z.nullable(z.int().check(z.positive())),
  traceback: z.string(),
});
export type RunError = z.infer<typeof RunError>;

/**
 * A MIME bundle, as in Jupyter: one string per MIME type, always with `text/plain`. Binary types
 * (`image/png`, `image/jpeg`) are base64; text types (`image/svg+xml`, `text/html`,
 * `text/markdown`, `application/json`) are the text itself.
 */
export const DisplayData = z.catchall(
  z.object({
    "text/plain": z.string({
      error: expected('"text/plain"', "a string, the fallback every client can show"),
    }),
  }),
  z.string(),
);
export type DisplayData = z.infer<typeof DisplayData>;

/** Rich output of a run: a plot, a table, an image, in program order. */
export const Display = z.object({
  data: DisplayData,
  /** Per-type details, e.g. `{"image/png": {width: 640, height: 480}}`. */
  // An open object of anything rather than z.record of z.unknown: the same values, with schema
  // kinds a client's bundle has anyway.
  metadata: z.optional(z.catchall(z.object({}), z.custom())),
});
export type Display = z.infer<typeof Display>;

/**
 * A file the program wrote, matched by `returnFiles`. Its bytes count toward the output limit:
 * past it, a file is listed with `content: null` and `truncated: true`.
 */
export const ReturnedFile = z.object({
  /** Relative to the working directory. */
  path: z.string(),
  /** Size on disk in bytes. */
  size: z.int().check(z.nonnegative()),
  /** The bytes, base64-encoded, or null when they were not sent. */
  content: z.nullable(z.string()),
  truncated: z.optional(boolean()),
});
export type ReturnedFile = z.infer<typeof ReturnedFile>;

/** What became of the session a run ran in: still there, or gone with its state. */
export const SessionState = z.enum(["kept", "lost"]);
export type SessionState = z.infer<typeof SessionState>;

/** `RunResult.session`: the session a run ran in. */
export const RunSession = z.object({ id: z.string(), state: SessionState });
export type RunSession = z.infer<typeof RunSession>;

/** Every field of a result but `status`, shared by the exact and the lenient schema. */
export const resultFields = {
  id: z.string(),
  language: Language,
  /** The process's exit code, or null when a signal ended it. */
  exitCode: z.nullable(z.int()),
  /** The signal that ended the process (e.g. `"SIGKILL"`), or null. */
  signal: z.nullable(z.string()),
  stdout: z.string(),
  stderr: z.string(),
  /** True when output was cut at the output limit. */
  truncated: boolean(),
  durationMs: z.number().check(z.nonnegative()),
  /** CPU time from the kernel's accounting, or null where the platform cannot measure it. */
  cpuTimeMs: z.nullable(z.number().check(z.nonnegative())),
  /** Peak memory in KiB from the kernel's accounting, or null where it cannot be measured. */
  memoryKb: z.nullable(z.number().check(z.nonnegative())),
  error: z.optional(RunError),
  /** Rich output, in the order the program produced it. */
  displays: z.optional(z.array(Display)),
  /** Files the program wrote that matched the request's `returnFiles`. */
  files: z.optional(z.array(ReturnedFile)),
  /** The limits the run had, after clamping to the server's maxima. */
  limits: z.optional(Limits),
  /** For a run in a session: whether the session is still there. */
  session: z.optional(RunSession),
};

/**
 * A `RunResult` as a client reads it: `status` may be one a newer server added. A client treats
 * a status it does not know (`isRunStatus` is false) as a finished run and shows it verbatim.
 */
export const LenientRunResult = z.object({
  ...resultFields,
  status: z.string({ error: "status must be a string" }),
});
export type LenientRunResult = z.infer<typeof LenientRunResult>;

/** Body of `GET /runs/{id}` (HTTP 202) while the run has not ended; after, a `RunResult` (200). */
export const RunPending = z.object({
  id: z.string(),
  status: z.enum(["queued", "running"]),
});
export type RunPending = z.infer<typeof RunPending>;
