import * as z from "zod/mini";
import { positiveInt } from "./internal/messages";

export const timeoutMs = () => positiveInt("timeoutMs", "milliseconds");
export const memoryMb = () => positiveInt("memoryMb", "MiB");
export const outputBytes = () => positiveInt("outputBytes", "bytes");

/**
 * A complete set of limits: those a run had after clamping (`RunResult.limits`), or a runtime's
 * defaults and maxima (`GET /runtimes`).
 */
export const Limits = z.object({
  timeoutMs: timeoutMs(),
  memoryMb: memoryMb(),
  outputBytes: outputBytes(),
});
export type Limits = z.infer<typeof Limits>;
