import * as z from "zod/mini";
import { expected, positiveInt } from "./internal/messages";

/** Limits a request asks for; each is clamped to the server's maximum. */
export const RunLimits = z.object(
  {
    /** Wall-clock limit in milliseconds. Clamped to the server's maximum. */
    timeoutMs: z.optional(positiveInt("timeoutMs", "milliseconds")),
    /** Memory limit in MiB. Clamped to the server's maximum. */
    memoryMb: z.optional(positiveInt("memoryMb", "MiB")),
    /** Output cap in bytes (stdout, stderr, displays and returned files); reaching it ends the run as `output_exceeded`. */
    outputBytes: z.optional(positiveInt("outputBytes", "bytes")),
  },
  { error: expected("limits", "an object {timeoutMs?, memoryMb?, outputBytes?}") },
);
export type RunLimits = z.infer<typeof RunLimits>;
