import { createHandler, type MechaHandler } from "./createHandler";
import type { HandlerOptions } from "./options";

/** Route handlers for a Next.js App Router catch-all route. */
export interface NextRouteHandlers {
  GET: (request: Request) => Promise<Response>;
  POST: (request: Request) => Promise<Response>;
  OPTIONS: (request: Request) => Promise<Response>;
  HEAD: (request: Request) => Promise<Response>;
  /** The underlying handler, for `close()` and `health()`. */
  handler: MechaHandler;
}

/**
 * Route handlers for `app/api/mecha/[...path]/route.ts`. Next.js passes full URLs, so give
 * the route's prefix as `basePath`.
 *
 * @example
 * // app/api/mecha/[...path]/route.ts
 * import { createRouteHandlers } from "@mecha/server/next";
 * export const { GET, POST, OPTIONS } = createRouteHandlers({ basePath: "/api/mecha" });
 * export const runtime = "nodejs";
 * export const dynamic = "force-dynamic";
 */
export function createRouteHandlers(
  options: HandlerOptions | MechaHandler = { basePath: "/api/mecha" },
): NextRouteHandlers {
  const handler = typeof options === "function" ? options : createHandler(options);
  const route = (request: Request) => handler(request);
  return { GET: route, POST: route, OPTIONS: route, HEAD: route, handler };
}
