import type { IncomingMessage, ServerResponse } from "node:http";
import { getRequestListener } from "@hono/node-server";

/** A Node `http` request listener that is also Express-compatible middleware. */
export type NodeListener = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => Promise<void>;

interface MaybeParsed extends IncomingMessage {
  body?: unknown;
  rawBody?: Buffer;
}

/**
 * Adapts a Fetch handler to Node's `http.createServer` and to Express 5 (`app.use("/api/mecha",
 * toNodeListener(handler))`). It only translates: paths arrive as Node gives them (relative to an
 * Express mount), a body Express already parsed is passed on, and a client that disconnects
 * aborts the request's signal, which cancels its run.
 *
 * @example
 * http.createServer(toNodeListener(createHandler())).listen(5000);
 */
export function toNodeListener(handler: (request: Request) => Promise<Response>): NodeListener {
  const listener = getRequestListener(handler, { overrideGlobalObjects: false });
  return async (req, res) => {
    const incoming = req as MaybeParsed;
    // A body parser (express.json(), say) has consumed the stream: hand its result on instead.
    if (incoming.body !== undefined && incoming.rawBody === undefined && incoming.readableEnded) {
      const body = incoming.body;
      incoming.rawBody = Buffer.isBuffer(body)
        ? body
        : Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
    }
    await listener(req, res);
  };
}
