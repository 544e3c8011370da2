import type { IncomingMessage, ServerResponse } from "node:http";
import { getRequestListener, type HttpBindings } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { type AdapterRequest, answersAsMade, setAdapterRequest } from "./http/adapterRequest";
import { textOf } from "./http/respond";

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
 * Bodies up to this size that say their length are read whole before the handler runs, as Node
 * delivers them, rather than through a web stream made around the request.
 */
const READ_WHOLE_BYTES = 256 * 1024;

/**
 * Adapts a Fetch handler to Node's `http.createServer` and to Express 5 (`app.use("/api/mecha",
 * toNodeListener(handler))`). It only translates: paths arrive as Node gives them (relative to an
 * Express mount), a body Express already parsed is passed on, and a client that disconnects
 * before its answer abandons its run (and aborts the request's signal). A small body is read
 * whole, and a JSON answer is written as it is (made without a body when `handler` is
 * `createHandler`'s own, unwrapped: see `json()`), without the streams between a `Request` or
 * `Response` and Node.
 *
 * @example
 * http.createServer(toNodeListener(createHandler())).listen(5000);
 */
export function toNodeListener(handler: (request: Request) => Promise<Response>): NodeListener {
  const writesText = answersAsMade(handler);
  const listener = getRequestListener(
    async (request, env) => {
      // Only ever Node's http module's (see NodeListener).
      const { incoming, outgoing } = env as HttpBindings;
      setAdapterRequest(request, knownOf(incoming, outgoing, writesText));
      const response = await handler(request);
      const text = textOf(response);
      if (text === undefined || outgoing.headersSent) return response;
      outgoing.writeHead(response.status, outgoingHeaders(response.headers, text));
      // HEAD: the headers GET would have, its length included, and no body.
      outgoing.end(incoming.method === "HEAD" ? undefined : text);
      return RESPONSE_ALREADY_SENT;
    },
    { overrideGlobalObjects: false },
  );
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

/**
 * What the handler may ask of a request beside its `Request`: when the client goes before its
 * answer has ended, as @hono/node-server aborts a request's signal (its response closed first,
 * or its body failed), and its body read whole.
 */
function knownOf(
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  writesText: boolean,
): AdapterRequest {
  const listeners = new Set<() => void>();
  let gone = false;
  outgoing.once("close", () => {
    if (!incoming.errored && outgoing.writableFinished) return;
    gone = true;
    for (const listener of listeners) listener();
    listeners.clear();
  });
  return {
    get clientGone() {
      return gone;
    },
    onClientGone(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    readWhole: () => readWhole(incoming),
    writesText,
  };
}

/**
 * The body of a request that says its length, up to READ_WHOLE_BYTES, read whole (also given to
 * the `Request`'s own body, as a body parser's is); null for any other, and for a body something
 * else has begun to read, which is then read as a stream. A body that fails or is cut short is
 * null too: its stream then says why, as it would have.
 */
async function readWhole(incoming: MaybeParsed): Promise<Buffer | null> {
  if (incoming.rawBody instanceof Buffer) return incoming.rawBody;
  const length = Number(incoming.headers["content-length"]);
  const method = incoming.method ?? "GET";
  if (method === "GET" || method === "HEAD") return null;
  if (!Number.isSafeInteger(length) || length < 0 || length > READ_WHOLE_BYTES) return null;
  if (incoming.readableFlowing !== null || incoming.readableDidRead || incoming.destroyed) {
    return null;
  }
  const chunks: Buffer[] = [];
  const body = await new Promise<Buffer | null>((resolve) => {
    const done = (value: Buffer | null) => {
      incoming.off("data", onData);
      incoming.off("end", onEnd);
      incoming.off("error", onClose);
      incoming.off("close", onClose);
      resolve(value);
    };
    const onData = (chunk: Buffer) => chunks.push(chunk);
    const onEnd = () => done(Buffer.concat(chunks));
    const onClose = () => done(null);
    incoming.on("data", onData);
    incoming.on("end", onEnd);
    incoming.on("error", onClose);
    incoming.on("close", onClose);
  });
  if (body) incoming.rawBody = body;
  return body;
}

/** A response's headers as Node writes them, with the length of `text`. */
function outgoingHeaders(headers: Headers, text: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of headers) out[name] = value;
  const cookies = headers.getSetCookie();
  if (cookies.length > 0) out["set-cookie"] = cookies;
  out["content-length"] = String(Buffer.byteLength(text));
  return out;
}
