import * as z from "zod/mini";
import { RunResult } from "./runResult";
import {
  DisplayEvent,
  InputEvent,
  LenientExitEvent,
  StartedEvent,
  StderrEvent,
  StdoutEvent,
  seq,
} from "./streamEvents";

/** The last line: how the run ended. */
export const ExitEvent = z.object({ type: z.enum(["exit"]), seq: seq(), result: RunResult });
export type ExitEvent = z.infer<typeof ExitEvent>;

/** One line of a run stream, as a server of this version sends it. */
export const RunEvent = z.discriminatedUnion("type", [
  StartedEvent,
  StdoutEvent,
  StderrEvent,
  InputEvent,
  DisplayEvent,
  ExitEvent,
]);
export type RunEvent = z.infer<typeof RunEvent>;

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
