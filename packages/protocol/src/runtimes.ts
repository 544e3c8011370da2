import * as z from "zod/mini";
import { RuntimeInfo } from "./health";
import { Limits } from "./limits";

/** A distribution a program can import, e.g. `{name: "numpy", version: "1.24.2"}`. */
export const RuntimePackage = z.object({ name: z.string(), version: z.string() });
export type RuntimePackage = z.infer<typeof RuntimePackage>;

/** What a request's limits default to, and the most it can ask for. */
export const RuntimeLimits = z.object({ defaults: Limits, maxima: Limits });
export type RuntimeLimits = z.infer<typeof RuntimeLimits>;

/** One runtime in `GET /runtimes`: `/health`'s entry plus its packages and limits. */
export const RuntimeDescription = z.object({
  ...RuntimeInfo.shape,
  packages: z.array(RuntimePackage),
  limits: RuntimeLimits,
});
export type RuntimeDescription = z.infer<typeof RuntimeDescription>;

/** Body of `GET /runtimes`: one runtime per language. */
export const RuntimesResponse = z.array(RuntimeDescription);
export type RuntimesResponse = z.infer<typeof RuntimesResponse>;
