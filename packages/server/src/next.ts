import { createHandler, type MechaHandler } from "./createHandler";
import type { HandlerOptions } from "./options";
import { shutdownSignals } from "./shutdownSignals";

/** Route handlers for a Next.js App Router catch-all route. */
export interface NextRouteHandlers {
  GET: (request: Request) => Promise<Response>;
  POST: (request: Request) => Promise<Response>;
  DELETE: (request: Request) => Promise<Response>;
  OPTIONS: (request: Request) => Promise<Response>;
  HEAD: (request: Request) => Promise<Response>;
  /** The underlying handler, for `close()`, `health()` and `ready()`. */
  handler: MechaHandler;
}

/**
 * Ends the handler's runs when the server is asked to stop: a route module has no other way to
 * learn of it. `next start`'s own listener waits for open requests, which end once their runs
 * have; where no other listener exits the process, this one does once the runs have ended.
 */
function closeOnSignals(handler: MechaHandler): void {
  for (const signal of shutdownSignals()) {
    process.once(signal, () => {
      const alone = process.listenerCount(signal) === 0;
      void handler.close().finally(() => {
        if (alone) process.exit(signal === "SIGINT" ? 130 : 143);
      });
    });
  }
}

/**
 * Route handlers for `app/api/mecha/[...path]/route.ts`. Next.js passes full URLs, so give
 * the route's prefix as `basePath`. Creating them starts nothing (`next build` imports the
 * route): the runtime starts on the first request, and from then on SIGTERM and SIGINT end its
 * runs (their streams end with `cancelled`) before the server exits.
 *
 * @example
 * // app/api/mecha/[...path]/route.ts
 * import { createRouteHandlers } from "@mecha/server/next";
 * export const { GET, POST, DELETE, OPTIONS, HEAD } = createRouteHandlers({ basePath: "/api/mecha" });
 * export const runtime = "nodejs";
 * export const dynamic = "force-dynamic";
 */
export function createRouteHandlers(
  options: HandlerOptions | MechaHandler = { basePath: "/api/mecha" },
): NextRouteHandlers {
  const handler = typeof options === "function" ? options : createHandler(options);
  let listening = false;
  const route = (request: Request) => {
    if (!listening) {
      listening = true;
      closeOnSignals(handler);
    }
    return handler(request);
  };
  return { GET: route, POST: route, DELETE: route, OPTIONS: route, HEAD: route, handler };
}
