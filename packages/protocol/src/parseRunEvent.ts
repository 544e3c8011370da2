import type * as z from "zod/mini";
import type { LenientRunEvent } from "./runEvent";
import {
  DisplayEvent,
  InputEvent,
  LenientExitEvent,
  StartedEvent,
  StderrEvent,
  StdoutEvent,
  UnknownEvent,
} from "./streamEvents";

/**
 * What a client makes of one stream line: a known event to handle, an unknown one to skip
 * (counting its `seq`, so a resumed stream starts after it), or an invalid line.
 */
export type ParsedRunEvent =
  | { kind: "known"; event: LenientRunEvent }
  | { kind: "unknown"; event: UnknownEvent }
  | { kind: "invalid"; error: z.core.$ZodError };

// One schema per type rather than `LenientRunEvent` (a discriminated union): the same checks,
// without the union's code in a client's bundle.
const KNOWN: Readonly<Record<string, z.ZodMiniType<LenientRunEvent>>> = {
  started: StartedEvent,
  stdout: StdoutEvent,
  stderr: StderrEvent,
  input: InputEvent,
  display: DisplayEvent,
  exit: LenientExitEvent,
};

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
  const header = UnknownEvent.safeParse(value);
  if (!header.success) return { kind: "invalid", error: header.error };
  const schema = Object.hasOwn(KNOWN, header.data.type) ? KNOWN[header.data.type] : undefined;
  if (!schema) return { kind: "unknown", event: header.data };
  const known = schema.safeParse(value);
  return known.success
    ? { kind: "known", event: known.data }
    : { kind: "invalid", error: known.error };
}
