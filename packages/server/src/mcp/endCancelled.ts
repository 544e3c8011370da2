import type { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { CancelledNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

/**
 * Ends the response stream of each request the client cancels. The SDK sends no answer to a
 * cancelled request (as MCP says), and its transport ends a stream only once every request on it
 * has been answered, so the stream would stay open for the session's life, holding a connection
 * and keeping the session from idling out. (A client that batched requests on one stream loses
 * the answers of the others with it; MCP's Streamable HTTP clients send one request per POST.)
 * Call once the server is connected to `transport`.
 */
export function endCancelled(transport: WebStandardStreamableHTTPServerTransport): void {
  const deliver = transport.onmessage;
  transport.onmessage = (message, extra) => {
    deliver?.(message, extra);
    const cancel = CancelledNotificationSchema.safeParse(message);
    const requestId = cancel.success ? cancel.data.params.requestId : undefined;
    if (requestId !== undefined) transport.closeSSEStream(requestId);
  };
}
