import * as z from "zod/mini";
import { Display, LenientRunResult, RunResult } from "./runResult";

/**
 * Position of an event in its run's stream: 0, 1, 2, … in order. Servers of this version always
 * send it; it is optional so that a stream from an earlier server still parses.
 */
const seq = () => z.optional(z.int().check(z.nonnegative()));

/** One line of an `application/x-ndjson` run stream, discriminated by `type`. */
export const StartedEvent = z.object({ type: z.literal("started"), seq: seq(), id: z.string() });
export const StdoutEvent = z.object({ type: z.literal("stdout"), seq: seq(), data: z.string() });
export const StderrEvent = z.object({ type: z.literal("stderr"), seq: seq(), data: z.string() });
/** The program called `input()` and waits for `POST /runs/{id}/stdin`. */
export const InputEvent = z.object({ type: z.literal("input"), seq: seq(), prompt: z.string() });
/** Rich output, in program order relative to stdout and stderr. */
export const DisplayEvent = z.object({
  type: z.literal("display"),
  seq: seq(),
  ...Display.shape,
});
/** The last line: how the run ended. */
export const ExitEvent = z.object({ type: z.literal("exit"), seq: seq(), result: RunResult });
export const RunEvent = z.discriminatedUnion("type", [
  StartedEvent,
  StdoutEvent,
  StderrEvent,
  InputEvent,
  DisplayEvent,
  ExitEvent,
]);
export type StartedEvent = z.infer<typeof StartedEvent>;
export type StdoutEvent = z.infer<typeof StdoutEvent>;
export type StderrEvent = z.infer<typeof StderrEvent>;
export type InputEvent = z.infer<typeof InputEvent>;
export type DisplayEvent = z.infer<typeof DisplayEvent>;
export type ExitEvent = z.infer<typeof ExitEvent>;
export type RunEvent = z.infer<typeof RunEvent>;

/** The event types this version knows. */
export const RUN_EVENT_TYPES = ["started", "stdout", "stderr", "input", "display", "exit"] as const;

/** An `exit` event as a client reads it: its result's `status` may be one it does not know. */
export const LenientExitEvent = z.object({
  type: z.literal("exit"),
  seq: seq(),
  result: LenientRunResult,
});
export type LenientExitEvent = z.infer<typeof LenientExitEvent>;

/** A stream line as a client reads it: a known event, with a lenient `exit`. */
export const LenientRunEvent = z.discriminatedUnion("type", [
  StartedEvent,
  StdoutEvent,
  StderrEvent,
  InputEvent,
  DisplayEvent,
  LenientExitEvent,
]);
export type LenientRunEvent = z.infer<typeof LenientRunEvent>;

/** An event of a type a newer server added: only its `type` and `seq` are read. */
export const UnknownEvent = z.object({
  type: z.string().check(z.minLength(1)),
  seq: seq(),
});
export type UnknownEvent = z.infer<typeof UnknownEvent>;

/**
 * What a client makes of one stream line: a known event to handle, an unknown one to skip
 * (counting its `seq`, so a resumed stream starts after it), or an invalid line.
 */
export type ParsedRunEvent =
  | { kind: "known"; event: LenientRunEvent }
  | { kind: "unknown"; event: UnknownEvent }
  | { kind: "invalid"; error: z.core.$ZodError };

/**
 * Reads one stream line the way a client must: an event of a known type is validated in full
 * (a malformed one is `invalid`, never skipped), an event of any other type is `unknown`, and
 * unknown fields are dropped.
 *
 * @example
 * const parsed = parseRunEvent(JSON.parse(line));
 * if (parsed.kind === "invalid") throw parsed.error;
 * if (parsed.kind === "known") handle(parsed.event);
 */
export function parseRunEvent(value: unknown): ParsedRunEvent {
  const known = LenientRunEvent.safeParse(value);
  if (known.success) return { kind: "known", event: known.data };
  const unknown = UnknownEvent.safeParse(value);
  if (unknown.success && !(RUN_EVENT_TYPES as readonly string[]).includes(unknown.data.type)) {
    return { kind: "unknown", event: unknown.data };
  }
  return { kind: "invalid", error: known.error };
}
