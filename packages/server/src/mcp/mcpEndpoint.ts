import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { ErrorCode } from "@modelcontextprotocol/sdk/types.js";
import type { HandlerContext, RequestScope } from "../http/context";
import { HttpError } from "../httpError";
import { checkParams, refusedInitialize } from "./checkParams";
import { endCancelled } from "./endCancelled";
import { McpRunner } from "./mcpRunner";
import { createMcpServer } from "./runPythonTool";

/** One MCP client session: its transport and server, who it belongs to, and its runs. */
interface McpSession {
  principal: string | undefined;
  transport: WebStandardStreamableHTTPServerTransport;
  server: McpServer;
  runner: McpRunner;
  timer: NodeJS.Timeout | null;
  /** Response streams open now (the client's event stream, answers still coming). */
  streams: number;
  ended: boolean;
}

/** A JSON-RPC error as the MCP transport answers one (not a problem: MCP clients read these). */
function rpcError(
  status: number,
  code: number,
  message: string,
  id: string | number | null = null,
): Response {
  return new Response(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id }), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** The transport's answer with the route's CORS headers, the session id readable by a page. */
function withCors(
  response: Response,
  cors: Headers,
  body: ReadableStream<Uint8Array> | null = response.body,
): Response {
  const headers = new Headers(response.headers);
  for (const [name, value] of cors) headers.set(name, value);
  if (cors.has("access-control-expose-headers")) {
    headers.set("access-control-expose-headers", "Retry-After, Mcp-Session-Id");
  }
  return new Response(body, { status: response.status, headers });
}

/** `body`, calling `ended` once when it has been read to its end or cancelled. */
function watched(body: ReadableStream<Uint8Array>, ended: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let open = true;
  const end = () => {
    if (open) ended();
    open = false;
  };
  return new ReadableStream({
    async pull(controller) {
      const { value, done } = await reader.read().catch((error: unknown) => {
        end();
        throw error;
      });
      if (done) {
        end();
        controller.close();
      } else controller.enqueue(value);
    },
    cancel(reason) {
      end();
      return reader.cancel(reason);
    },
  });
}

/**
 * `/mcp`: the Model Context Protocol over Streamable HTTP (the official SDK's Fetch transport),
 * one transport and server per MCP session. A session belongs to the principal that opened it
 * (another gets 404, as for an unknown one), ends on `DELETE` or once idle (see `idle`), and
 * closes its Mecha session when it ends. At most 4 × max(maxSessions, maxConcurrent) are open.
 */
export class McpEndpoint {
  private readonly sessions = new Map<string, McpSession>();
  /** Initialize requests being answered, counted against the maximum. */
  private opening = 0;
  private closed = false;

  constructor(private readonly context: HandlerContext) {}

  /** MCP sessions open at once: beyond it, 503 `busy`. */
  private get maxSessions(): number {
    const { maxSessions, maxConcurrent } = this.context.opts;
    return 4 * Math.max(maxSessions, maxConcurrent);
  }

  async handle({ request, cors, principal }: RequestScope): Promise<Response> {
    const id = request.headers.get("mcp-session-id");
    // The request itself travels with each message, for the tool's rate limit and cancel.
    const authInfo = {
      token: "",
      clientId: principal ?? "",
      scopes: [],
      extra: { request },
    };
    if (id !== null) {
      const session = this.sessions.get(id);
      if (!session || session.principal !== principal) {
        return withCors(
          rpcError(404, -32001, "Session not found: it ended, expired, or never existed."),
          cors,
        );
      }
      this.idle(session);
      const response = await session.transport.handleRequest(request, { authInfo });
      if (!response.body) return withCors(response, cors);
      session.streams++;
      const body = watched(response.body, () => {
        session.streams--;
        this.idle(session);
      });
      return withCors(response, cors, body);
    }
    if (request.method !== "POST") {
      return withCors(
        rpcError(400, -32000, "Bad Request: Mcp-Session-Id header is required"),
        cors,
      );
    }
    if (this.closed) throw new HttpError("unavailable", "The server is shutting down.");
    if (this.sessions.size + this.opening >= this.maxSessions) {
      throw new HttpError(
        "busy",
        `All ${this.maxSessions} MCP sessions are open; close one (DELETE /mcp) or try again once one expires.`,
        { retryAfter: 5 },
      );
    }
    this.opening++;
    // To say why an initialize request was refused: read only once the transport has read the
    // body, within its size limit.
    const copy = request.clone();
    try {
      const session = await this.open(principal);
      const response = await session.transport.handleRequest(request, { authInfo });
      // Anything but an initialize request was refused: nothing was opened.
      if (!session.transport.sessionId) await this.end(session);
      const refused = response.status === 400 ? await refusedInitialize(copy) : null;
      if (!refused) return withCors(response, cors);
      return withCors(rpcError(400, ErrorCode.InvalidParams, refused.problem, refused.id), cors);
    } finally {
      if (!copy.bodyUsed) void copy.body?.cancel().catch(() => {});
      this.opening--;
    }
  }

  /** Ends every MCP session (the handler is closing). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.sessions.values()].map((session) => this.end(session)));
  }

  private async open(principal: string | undefined): Promise<McpSession> {
    const runner = new McpRunner(this.context, principal);
    const session: McpSession = {
      principal,
      runner,
      server: createMcpServer(runner, this.context.sessions?.enabled ?? false),
      transport: new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => crypto.randomUUID(),
        maxRequestBodySize: this.context.opts.maxBodyBytes,
        onsessioninitialized: (id) => {
          this.sessions.set(id, session);
          this.idle(session);
        },
        // DELETE answers once the session's interpreter has ended.
        onsessionclosed: () => this.end(session),
      }),
      timer: null,
      streams: 0,
      ended: false,
    };
    session.transport.onclose = () => void this.end(session);
    await session.server.connect(session.transport);
    checkParams(session.transport);
    endCancelled(session.transport);
    return session;
  }

  private async end(session: McpSession): Promise<void> {
    if (session.ended) return;
    session.ended = true;
    if (session.timer) clearTimeout(session.timer);
    const id = session.transport.sessionId;
    if (id !== undefined) this.sessions.delete(id);
    await session.runner.close();
    await session.server.close();
  }

  /**
   * A request came or a stream ended: the session ends once it has had no request, no open
   * stream (a client still connected keeps it) and no call running for the idle timeout.
   */
  private idle(session: McpSession): void {
    if (session.timer) clearTimeout(session.timer);
    if (session.ended) return;
    session.timer = setTimeout(() => {
      if (session.streams > 0 || session.runner.busy) this.idle(session);
      else void this.end(session);
    }, this.context.opts.sessionIdleTimeoutMs);
    session.timer.unref?.();
  }
}
