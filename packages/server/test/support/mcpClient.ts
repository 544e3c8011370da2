import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

/** One JSON-RPC message POSTed to a handler's `/mcp`, with `headers` (a session's) added. */
export function postMcp(
  handler: (request: Request) => Promise<Response>,
  message: object,
  headers: Record<string, string> = {},
): Promise<Response> {
  return handler(
    new Request("http://localhost/mcp", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...headers,
      },
      body: JSON.stringify({ jsonrpc: "2.0", ...message }),
    }),
  );
}

/** A tool result's content, as the official client returns it. */
export type Content =
  | { type: "text"; text: string }
  | { type: "image"; data: string; mimeType: string }
  | { type: string; [key: string]: unknown };

export interface McpConnection {
  client: Client;
  transport: StreamableHTTPClientTransport;
  /** Calls `run_python` with `code` (and a `sessionId`). */
  run(
    code: string,
    extra?: { sessionId?: string },
  ): Promise<{ content: Content[]; isError?: boolean }>;
  /** Calls any tool with any arguments (to send bad ones). */
  call(
    name: string,
    args: Record<string, unknown>,
  ): Promise<{ content: Content[]; isError?: boolean }>;
  /** Ends the MCP session (DELETE) and the client. */
  close(): Promise<void>;
}

/** The official MCP client (Streamable HTTP) connected to `{origin}/mcp`. */
export async function connectMcp(
  origin: string,
  headers: Record<string, string> = {},
): Promise<McpConnection> {
  const transport = new StreamableHTTPClientTransport(new URL(`${origin}/mcp`), {
    requestInit: { headers },
  });
  const client = new Client({ name: "mecha-tests", version: "1.0.0" });
  await client.connect(transport);
  const call = async (name: string, args: Record<string, unknown>) =>
    (await client.callTool({ name, arguments: args })) as {
      content: Content[];
      isError?: boolean;
    };
  return {
    client,
    transport,
    call,
    run: (code, extra = {}) => call("run_python", { code, ...extra }),
    async close() {
      await transport.terminateSession();
      await client.close();
    },
  };
}

/** The text parts of a result, joined. */
export const textOf = (result: { content: Content[] }) =>
  result.content
    .filter((part): part is { type: "text"; text: string } => part.type === "text")
    .map((part) => part.text)
    .join("\n");
