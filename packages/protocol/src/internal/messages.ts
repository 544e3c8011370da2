import * as z from "zod/mini";

/**
 * An issue message naming the field and what it accepts: "`name` is required: …" when the field
 * is missing, "`name` must be …" otherwise. Zod's mini build has no locale loaded, so without a
 * message every issue would read "Invalid input".
 */
export function expected(name: string, what: string): (issue: { input?: unknown }) => string {
  return (issue) =>
    issue.input === undefined ? `${name} is required: ${what}` : `${name} must be ${what}`;
}

/** An enum whose issue message lists the values it accepts: `one of "a", "b", "c"`. */
export function oneOf<const T extends readonly [string, ...string[]]>(name: string, values: T) {
  const what = `one of ${values.map((value) => JSON.stringify(value)).join(", ")}`;
  return z.enum(values, { error: expected(name, what) });
}

/** A whole number ≥ 1, e.g. `positiveInt("timeoutMs", "milliseconds")`. */
export function positiveInt(name: string, unit: string) {
  const message = expected(name, `a whole number of ${unit}, at least 1`);
  return z.int({ error: message }).check(z.positive({ error: message }));
}

/** A string, with a message that names the field. */
export function text(name: string, what = "a string") {
  return z.string({ error: expected(name, what) });
}

/** A JSON value shown in a message, cut to a readable length. */
export function quote(value: string, max = 80): string {
  const shown = JSON.stringify(value.length > max ? value.slice(0, max) : value);
  return value.length > max ? `${shown.slice(0, -1)}…"` : shown;
}
