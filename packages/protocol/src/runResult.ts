import * as z from "zod/mini";
import { oneOf } from "./internal/messages";
import { RUN_STATUSES } from "./isRunStatus";
import { resultFields } from "./lenientRunResult";

/** How a run ended, as servers of this version report it. */
export const RunStatus = oneOf("status", RUN_STATUSES);
export type RunStatus = z.infer<typeof RunStatus>;

/** How a run ended. A program that fails is still a result: the run happened. */
export const RunResult = z.object({ ...resultFields, status: RunStatus });
export type RunResult = z.infer<typeof RunResult>;
