import * as z from "zod/mini";

// Plain checks: a client reads these (the request's own, with messages, are in runLimits.ts).
const positive = () => z.int().check(z.positive());

/**
 * A complete set of limits: those a run had after clamping (`RunResult.limits`), or a runtime's
 * defaults and maxima (`GET /runtimes`).
 */
export const Limits = z.object({
  timeoutMs: positive(),
  memoryMb: positive(),
  outputBytes: positive(),
});
export type Limits = z.infer<typeof Limits>;
