import * as z from "zod/mini";
import { PROTOCOL_VERSION } from "./constants";
import { expected } from "./internal/messages";
import { Language } from "./language";

/** How strongly a runtime isolates programs: a bubblewrap sandbox, or process limits only. */
export const Isolation = z.enum(["sandbox", "process"]);
export type Isolation = z.infer<typeof Isolation>;

export const RuntimeInfo = z.object({
  language: Language,
  version: z.string(),
  isolation: Isolation,
});
export type RuntimeInfo = z.infer<typeof RuntimeInfo>;

export const Capacity = z.object({
  /** Runs executing now, a session's running run included. */
  running: z.int().check(z.nonnegative()),
  queued: z.int().check(z.nonnegative()),
  maxConcurrent: z.int().check(z.positive()),
  maxQueued: z.int().check(z.nonnegative()),
  /** Open sessions. */
  sessions: z.optional(z.int().check(z.nonnegative())),
  /** The most sessions open at once; 0 when sessions are off. */
  maxSessions: z.optional(z.int().check(z.nonnegative())),
  /** Live runner processes, when runs are distributed over Redis. */
  runners: z.optional(z.int().check(z.nonnegative())),
});
export type Capacity = z.infer<typeof Capacity>;

export const HealthStatus = z.enum(["ok", "degraded", "unavailable"]);
export type HealthStatus = z.infer<typeof HealthStatus>;

/** Body of `GET /health` (HTTP 200, or 503 with `status: "unavailable"`). */
export const HealthResponse = z.object({
  status: HealthStatus,
  version: z.string(),
  // A check rather than z.literal: the same test, without the literal schema in a client's bundle.
  protocol: z.custom<typeof PROTOCOL_VERSION>((value) => value === PROTOCOL_VERSION, {
    error: expected("protocol", String(PROTOCOL_VERSION)),
  }),
  runtimes: z.array(RuntimeInfo),
  capacity: Capacity,
  uptimeMs: z.number().check(z.nonnegative()),
  /** What is switched on, e.g. `["displays", "sessions"]`; see `FEATURES` for known names. */
  features: z.optional(z.array(z.string())),
});
export type HealthResponse = z.infer<typeof HealthResponse>;
