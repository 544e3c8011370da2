import type { NormalizedOptions } from "../options";

/** The CORS headers a request's origin gets (none for an origin not allowed). */
export function corsHeaders(request: Request, opts: NormalizedOptions): Headers {
  const headers = new Headers();
  const origin = request.headers.get("origin");
  if (!origin || !opts.cors?.(origin)) return headers;
  headers.set("access-control-allow-origin", opts.corsAny ? "*" : origin);
  if (!opts.corsAny) headers.set("vary", "Origin");
  headers.set("access-control-expose-headers", "Retry-After");
  return headers;
}

const METHODS = "GET, POST, DELETE, OPTIONS";

/** The answer to a CORS preflight (`OPTIONS`). */
export function preflight(request: Request, cors: Headers): Response {
  if (cors.has("access-control-allow-origin")) {
    cors.set("access-control-allow-methods", METHODS);
    cors.set(
      "access-control-allow-headers",
      request.headers.get("access-control-request-headers") ??
        "Content-Type, Accept, Authorization, Idempotency-Key",
    );
    cors.set("access-control-max-age", "600");
  }
  cors.set("allow", METHODS);
  return new Response(null, { status: 204, headers: cors });
}
