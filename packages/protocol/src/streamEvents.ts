import * as z from "zod/mini";
import { Display, LenientRunResult } from "./lenientRunResult";
import { Limits } from "./limits";

/**
 * Position of an event in its run's stream: 0, 1, 2, … in order. Servers of this version always
 * send it; it is optional so that a stream from an earlier server still parses.
 */
export const seq = () => z.optional(z.int().check(z.nonnegative()));

/**
 * One line of an `application/x-ndjson` run stream, discriminated by `type`. (`z.enum` of one
 * value rather than `z.literal`: the same check, and a client's bundle then needs no literal
 * schema at all.)
 */
/**
 * The run has left the queue. `limits` are those it is held to (after clamping, or a session's):
 * its time limit counts from here. Servers of this version send them; a client falls back on
 * its own assumption when they are absent.
 */
export const StartedEvent = z.object({
  type: z.enum(["started"]),
  seq: seq(),
  id: z.string(),
  limits: z.optional(Limits),
});
export const StdoutEvent = z.object({ type: z.enum(["stdout"]), seq: seq(), data: z.string() });
export const StderrEvent = z.object({ type: z.enum(["stderr"]), seq: seq(), data: z.string() });
/**
 * The program waits for `POST /runs/{id}/stdin`: it called `input()` (`prompt` is its prompt), or it
 * read `sys.stdin` with nothing there yet (`prompt` is "").
 */
export const InputEvent = z.object({ type: z.enum(["input"]), seq: seq(), prompt: z.string() });
/** Rich output, in program order relative to stdout and stderr. */
export const DisplayEvent = z.object({
  type: z.enum(["display"]),
  seq: seq(),
  ...Display.shape,
});
export type StartedEvent = z.infer<typeof StartedEvent>;
export type StdoutEvent = z.infer<typeof StdoutEvent>;
export type StderrEvent = z.infer<typeof StderrEvent>;
export type InputEvent = z.infer<typeof InputEvent>;
export type DisplayEvent = z.infer<typeof DisplayEvent>;

/** The event types this version knows. */
export const RUN_EVENT_TYPES = ["started", "stdout", "stderr", "input", "display", "exit"] as const;

/** An `exit` event as a client reads it: its result's `status` may be one it does not know. */
export const LenientExitEvent = z.object({
  type: z.enum(["exit"]),
  seq: seq(),
  result: LenientRunResult,
});
export type LenientExitEvent = z.infer<typeof LenientExitEvent>;

/** An event of a type a newer server added: only its `type` and `seq` are read. */
export const UnknownEvent = z.object({
  type: z.string().check(z.refine((type) => type.length > 0)),
  seq: seq(),
});
export type UnknownEvent = z.infer<typeof UnknownEvent>;
