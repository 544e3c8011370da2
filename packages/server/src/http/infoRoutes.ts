import { type HealthResponse, PROTOCOL_VERSION, type RuntimeDescription } from "@mecha/protocol";
import { VERSION } from "../version";
import type { HandlerContext, RequestScope } from "./context";
import { json } from "./respond";

/** What this handler has on, as `GET /health` lists it (`features`). */
export function features(context: HandlerContext): string[] {
  const on = [
    "runtimes",
    "resume",
    ...(context.runtime.features ?? []).filter(
      (feature) => feature !== "sessions" || context.sessions?.enabled,
    ),
  ];
  if (context.metrics) on.push("metrics");
  return on;
}

/** The health body: 200 `ok`/`degraded`, or `unavailable` when no program can run here. */
export async function health(context: HandlerContext): Promise<HealthResponse> {
  const { runs, runtime, startedAt } = context;
  const capacity = { ...runs.capacity, ...context.sessions?.capacity };
  const common = {
    version: VERSION,
    protocol: PROTOCOL_VERSION,
    capacity,
    features: features(context),
    uptimeMs: Date.now() - startedAt,
  };
  try {
    const info = await runtime.info();
    const saturated = capacity.queued > 0 || runs.isClosing;
    return { status: saturated ? "degraded" : "ok", runtimes: [info], ...common };
  } catch {
    return { status: "unavailable", runtimes: [], ...common };
  }
}

/** `GET /runtimes`: what a program can import and the limits it may ask for. */
export async function getRuntimes(context: HandlerContext, { cors }: RequestScope) {
  const { runtime, opts } = context;
  const info = await runtime.info();
  const packages = (await runtime.packages?.()) ?? [];
  const body: RuntimeDescription[] = [
    {
      ...info,
      packages,
      limits: { defaults: { ...opts.defaultLimits }, maxima: { ...opts.maxLimits } },
    },
  ];
  return json(body, 200, cors);
}

/** `GET /metrics`: Prometheus text. */
export async function getMetrics(context: HandlerContext, { cors }: RequestScope) {
  const { body, contentType } = await context.metrics!.text();
  cors.set("content-type", contentType);
  cors.set("cache-control", "no-store");
  return new Response(body, { status: 200, headers: cors });
}
